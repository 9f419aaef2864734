"""Log context: the correlation id of the inbound message being handled.

Every inbound message gets a correlation id derived from its wamid (so a redelivery or a
restart gives the same id, with nothing extra stored); processing runs under it, the outbox
rows it writes carry it, and their delivery runs under it again. The log formatter (see
`setup_logging`) adds it to every line written meanwhile.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from contextvars import ContextVar

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
