"""Logging: the correlation id of the inbound message being handled, and the log output.

Every inbound message gets a correlation id derived from its wamid (so a redelivery or a
restart gives the same id, with nothing extra stored); processing runs under it, the outbox
rows it writes carry it, and their delivery runs under it again. The log formatter (see
`setup_logging`) adds it to every line written meanwhile, so one message's story (webhook,
processing, delivery of its replies and ticket) is one `grep` away. The same setup masks phone
numbers and blanks secrets in every line as a last line of defence.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import sys
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Literal, TextIO

from bot.privacy import mask_numbers

_current: ContextVar[str | None] = ContextVar("orderbot_correlation_id", default=None)


def correlation_id_for(wamid: str) -> str:
    """A short, stable id for one inbound message (12 hex digits of its wamid's SHA-256)."""
    return hashlib.sha256(wamid.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def current_correlation_id() -> str | None:
    return _current.get()


@contextlib.contextmanager
def correlation(correlation_id: str | None) -> Iterator[None]:
    """Log lines written inside this block carry `correlation_id` (None: no id)."""
    token = _current.set(correlation_id)
    try:
        yield
    finally:
        _current.reset(token)


# --- Log output: one line per record, JSON for machines or text for people ------------------

LogFormat = Literal["json", "text"]
LOG_FORMATS: tuple[LogFormat, ...] = ("json", "text")
REDACTED = "[redacted]"
_SHORTEST_SECRET = 4  # shorter "secrets" (test placeholders) would blank ordinary words
# The attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message", "asctime", "correlation_id"}


def _correlation_of(record: logging.LogRecord) -> str | None:
    # An explicit extra={"correlation_id": ...} wins over the one of the running context.
    explicit = getattr(record, "correlation_id", None)
    return explicit if isinstance(explicit, str) else current_correlation_id()


def _extras(record: logging.LogRecord) -> dict[str, object]:
    fields = record.__dict__
    if not fields.keys() - _RECORD_ATTRIBUTES:  # a quick set difference: most records have none
        return {}
    return {key: value for key, value in fields.items()
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, correlation_id, exception, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,  # which process, when `serve --workers N` runs several
            "message": record.getMessage(),
        }
        correlation_id = _correlation_of(record)
        if correlation_id:
            entry["correlation_id"] = correlation_id
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        for key, value in _extras(record).items():
            entry.setdefault(key, value)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The human layout (`time LEVEL logger: message`), with `[correlation id]` when set."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        correlation_id = _correlation_of(record)
        name = f"{record.name} [{correlation_id}]" if correlation_id else record.name
        return f"{record.asctime} {record.levelname} {name}: {record.message}"


class Redactor(logging.Filter):
    """Masks phone numbers and blanks the configured secrets in a record before it is written.

    The last line of defence: code masks numbers itself (bot.privacy.mask) and never logs a
    secret, but a payload quoted in an error or an exception's text could still carry one. It
    rewrites the message, the exception text and string extras; it never drops a record.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: tuple[str, ...] = ()
        self.add_secrets(secrets)

    def add_secrets(self, secrets: Iterable[str]) -> None:
        known = set(self._secrets) | {s for s in secrets if len(s) >= _SHORTEST_SECRET}
        self._secrets = tuple(sorted(known, key=len, reverse=True))  # a longer one first

    def clean(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return mask_numbers(text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit: logging reports it when formatting
            return True
        cleaned = self.clean(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            # Formatters use this cached text, so the masked version is what gets written.
            record.exc_text = _PLAIN.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        if record.stack_info:
            record.stack_info = self.clean(record.stack_info)
        for key, value in _extras(record).items():
            cleaned_value = self._cleaned(value)
            if cleaned_value is not value:
                setattr(record, key, cleaned_value)
        return True

    def _cleaned(self, value: object) -> object:
        """`value` itself when nothing in it needed masking, else a masked copy."""
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, str | int):
            text = str(value)
            cleaned = self.clean(text)
            return value if cleaned == text else cleaned  # a phone number int: its mask
        if isinstance(value, dict):
            items = {k: self._cleaned(v) for k, v in value.items()}
            return value if all(items[k] is v for k, v in value.items()) else items
        if isinstance(value, list | tuple):
            parts = [self._cleaned(v) for v in value]
            return value if all(a is b for a, b in zip(parts, value, strict=True)) else parts
        return value


_PLAIN = logging.Formatter()


class LogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler setup_logging installs (so a second call knows which one to replace)."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self.redactor = Redactor()


def setup_logging(log_format: LogFormat, level: int | str = logging.INFO,
                  stream: TextIO | None = None) -> Redactor:
    """Send every log record to `stream` (stderr) as JSON or text lines, masked by a Redactor.

    A second call replaces the first one's handler (handlers of others, e.g. pytest's, stay).
    Returns the Redactor; secrets are added to it once the settings are read (redact_secrets).
    """
    handler = log_handler(log_format, stream if stream is not None else sys.stderr)
    root = logging.getLogger()
    for old in root.handlers[:]:
        if isinstance(old, LogHandler):
            root.removeHandler(old)
            old.close()
    root.addHandler(handler)
    root.setLevel(level)
    # Noise next to real events: APScheduler logs every timer sweep (each 30 s) at INFO.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, root.level))
    return handler.redactor


def log_handler(log_format: LogFormat, stream: TextIO) -> LogHandler:
    """A handler writing masked JSON or text lines to `stream` (setup_logging installs one)."""
    handler = LogHandler(stream)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(handler.redactor)
    return handler


def redact_secrets(secrets: Iterable[str]) -> None:
    """Blank these values wherever they would appear in a log line written by setup_logging's
    handler (no-op when logging was set up some other way, e.g. under pytest)."""
    values = tuple(secrets)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, LogHandler):
            handler.redactor.add_secrets(values)
