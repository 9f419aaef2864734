"""Log lines: JSON or text, the id of the message in hand, numbers and secrets masked."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from bot.config import Settings, load_log_settings
from bot.logs import (
    LogFormat,
    correlation,
    correlation_id_for,
    log_handler,
    redact_secrets,
    setup_logging,
)
from bot.privacy import mask_numbers
from bot.webhook import QuietAccessLogger

CUSTOMER = "15550002222"
ACCESS_TOKEN = "EAAGm0PX4ZCpsBAKZAB0TgZDZD"


class Captured:
    """A logger of its own whose lines go to a string, as setup_logging's handler writes them."""

    def __init__(self, log_format: LogFormat) -> None:
        self.stream = io.StringIO()
        self.handler = log_handler(log_format, self.stream)
        self.log = logging.getLogger(f"orderbot.test.{id(self)}")
        self.log.propagate = False
        self.log.setLevel(logging.DEBUG)
        self.log.addHandler(self.handler)

    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()

    def json_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines()]

    def close(self) -> None:
        self.log.removeHandler(self.handler)


@pytest.fixture
def json_log() -> Iterator[Captured]:
    captured = Captured("json")
    yield captured
    captured.close()


@pytest.fixture
def text_log() -> Iterator[Captured]:
    captured = Captured("text")
    yield captured
    captured.close()


def test_a_json_line_is_one_object_with_time_level_logger_message_and_extras(
    json_log: Captured,
) -> None:
    json_log.log.warning("order %s: %s -> %s", "#1042", "new", "ready", extra={"lane": "wa"})
    [line] = json_log.json_lines()
    assert line["message"] == "order #1042: new -> ready"
    assert line["level"] == "WARNING"
    assert line["logger"] == json_log.log.name
    assert line["lane"] == "wa"
    written = datetime.fromisoformat(line["ts"])
    assert written.utcoffset() == UTC.utcoffset(None)
    assert abs((datetime.now(UTC) - written).total_seconds()) < 60
    assert "correlation_id" not in line  # none was set


def test_an_exception_stays_on_its_one_json_line(json_log: Captured) -> None:
    try:
        raise ValueError("the printer is on fire")
    except ValueError:
        json_log.log.exception("could not print order %s", "#1001")
    assert len(json_log.lines()) == 1  # a collector reads one line per record
    [line] = json_log.json_lines()
    assert "Traceback" in line["exception"]
    assert "ValueError: the printer is on fire" in line["exception"]


def test_the_correlation_id_is_on_lines_inside_correlation_and_not_outside(
    json_log: Captured,
) -> None:
    message_id = correlation_id_for("wamid.HBgLMTU1NTAwMDIyMjIVAgASGBQz")
    json_log.log.info("before")
    with correlation(message_id):
        json_log.log.info("during")
        with correlation(None):
            json_log.log.info("a delivery without an id")
        json_log.log.info("during again")
    json_log.log.info("after")
    ids = {line["message"]: line.get("correlation_id") for line in json_log.json_lines()}
    assert ids == {"before": None, "during": message_id, "a delivery without an id": None,
                   "during again": message_id, "after": None}


async def test_tasks_started_while_handling_a_message_log_its_correlation_id(
    json_log: Captured,
) -> None:
    async def deliver() -> None:
        await asyncio.sleep(0)
        json_log.log.info("delivered")

    with correlation("a1b2c3d4e5f6"):
        task = asyncio.create_task(deliver())
    json_log.log.info("next message")
    await task
    ids = {line["message"]: line.get("correlation_id") for line in json_log.json_lines()}
    assert ids == {"next message": None, "delivered": "a1b2c3d4e5f6"}


def test_an_explicit_correlation_id_wins(json_log: Captured) -> None:
    with correlation("aaaaaaaaaaaa"):
        json_log.log.info("row", extra={"correlation_id": "bbbbbbbbbbbb"})
    assert json_log.json_lines()[0]["correlation_id"] == "bbbbbbbbbbbb"


def test_text_lines_keep_the_human_layout_with_the_correlation_id(text_log: Captured) -> None:
    text_log.log.info("plain")
    with correlation("0123456789ab"):
        text_log.log.info("inside")
    plain, inside = text_log.lines()
    stamp = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}"
    name = re.escape(text_log.log.name)
    assert re.fullmatch(rf"{stamp} INFO {name}: plain", plain)
    assert re.fullmatch(rf"{stamp} INFO {name} \[0123456789ab\]: inside", inside)


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_a_customer_number_in_a_line_comes_out_masked(log_format: LogFormat) -> None:
    captured = Captured(log_format)
    try:
        captured.log.info("reply to %s queued", CUSTOMER)
        captured.log.info("lane wa:%s, extra", CUSTOMER, extra={"to": CUSTOMER, "wa": 15550002222})
        captured.log.info("headers", extra={"request_header": {"X-Caller": [f"+{CUSTOMER}"]}})
        try:
            raise RuntimeError(f"send to +{CUSTOMER} refused")
        except RuntimeError:
            captured.log.exception("delivery failed")
    finally:
        captured.close()
    written = captured.stream.getvalue()
    assert "1555000" not in written
    assert "…2222" in written  # still enough to tell customers apart


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_a_secret_in_a_message_or_an_exception_is_blanked(log_format: LogFormat) -> None:
    captured = Captured(log_format)
    captured.handler.redactor.add_secrets([ACCESS_TOKEN, "abc"])  # "abc": too short to hunt
    try:
        captured.log.warning("graph said: bad token %s", ACCESS_TOKEN)
        try:
            raise PermissionError(f"Authorization: Bearer {ACCESS_TOKEN}")
        except PermissionError:
            captured.log.exception("send failed")
        captured.log.info("abc stays")
    finally:
        captured.close()
    written = captured.stream.getvalue()
    assert ACCESS_TOKEN not in written
    assert written.count("[redacted]") == 2
    assert "abc stays" in written


def test_secrets_named_after_setup_reach_the_installed_handler() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    others = list(root.handlers)
    setup_logging("json", logging.INFO, stream)
    try:
        redact_secrets([ACCESS_TOKEN])
        logging.getLogger("orderbot.test.setup").info("token %s", ACCESS_TOKEN)
    finally:
        setup_logging("json", level, io.StringIO())  # replaces ours; remove it below
        for handler in list(root.handlers):
            if handler not in others:
                root.removeHandler(handler)
        root.setLevel(level)
    [line] = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["message"] == "token [redacted]"
    assert all(handler in root.handlers for handler in others)  # pytest's own stay


@pytest.mark.parametrize("written", [
    "15550002222",
    "+15550002222",
    "to=919876543210",
    "lane wa:15550002222",
    "call me on +1 555 000 2222 please",
    "+44 20 7946 0958",
    "(555) 000-2222",
    "555-000-2222",
    '{"wa_id": "4930123456"}',
    "user US.13491208655302741918",
])
def test_phone_numbers_and_user_ids_are_masked_in_any_usual_writing(written: str) -> None:
    masked = mask_numbers(written)
    digits = re.sub(r"\D", "", written)
    assert digits[:-4] not in re.sub(r"\D", "", masked)
    assert "…" + digits[-4:] in masked


@pytest.mark.parametrize("written", [
    "order #1042 is ready",
    "wamid.HBgLMTU1NTAwMDIyMjIVAgASGBQzQTdCQ0Y2MDI5RjE4NUZBN0U0AA==",
    "wamid.HBgL/15550002222/ABC==",
    "listening on 127.0.0.1:8080",
    "port 8080, demo ports 8080-8082",
    "retry in 1.5 s; took 1234.5678 ms",
    "timestamp 1764300000 (ms 1764300000123)",
    "2026-11-28T03:18:59.123+00:00",
    "2026-11-28 03:18:59,123",
    '127.0.0.1 [28/Nov/2026:03:18:59 +0000] "POST /webhook HTTP/1.1" 200 16 "-" '
    '"Python/3.11 aiohttp/3.9.5"',
    "outbox rows 1001 1002 retried",
    "request 12345678-1234-1234-1234-123456789012",
    "phone number id 2000000000000002",
    "graph error code=131047 http=400",
    "pi 3.14159265358",
])
def test_what_only_looks_like_a_number_is_left_alone(written: str) -> None:
    assert mask_numbers(written) == written


def test_a_broken_log_call_does_not_break_the_caller(json_log: Captured) -> None:
    logging.raiseExceptions = False  # as in production: a broken call reports, never raises
    try:
        json_log.log.info("two %s %s", "args?")  # noqa: PLE1206 - the broken call under test
    finally:
        logging.raiseExceptions = True
    assert json_log.lines() == []  # logging's own error report went to stderr instead


def test_log_settings_read_any_case_and_name_a_bad_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERBOT_LOG_FORMAT", "JSON")
    monkeypatch.setenv("ORDERBOT_LOG_LEVEL", "debug")
    chosen = load_log_settings()
    assert (chosen.log_format, chosen.log_level) == ("json", "DEBUG")
    monkeypatch.setenv("ORDERBOT_LOG_LEVEL", "chatty")
    with pytest.raises(SystemExit, match="ORDERBOT_LOG_LEVEL"):
        load_log_settings()


def test_every_configured_secret_is_handed_to_the_redactor() -> None:
    settings = Settings(app_secret="s3cret-app", access_token=ACCESS_TOKEN,
                        verify_token="verify-me", kitchen_webhook_secret="kitchen-s3cret",
                        kitchen_display_token="display-s3cret",
                        database_url="postgresql+psycopg://orderbot:db-pa55word@db:5432/shop")
    assert set(settings.secret_values()) == {
        "s3cret-app", ACCESS_TOKEN, "verify-me", "kitchen-s3cret", "display-s3cret",
        "db-pa55word"}


def test_the_access_log_leaves_out_acknowledged_webhooks_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    access = QuietAccessLogger(logging.getLogger("aiohttp.access"), '%r %s')
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    for method, path, status in (("POST", "/webhook", 200), ("POST", "/webhook", 401),
                                 ("GET", "/webhook", 200), ("POST", "/status", 200)):
        access.log(make_mocked_request(method, path), web.Response(status=status), 0.001)
    assert [record.getMessage() for record in caplog.records] == [
        "POST /webhook HTTP/1.1 401", "GET /webhook HTTP/1.1 200", "POST /status HTTP/1.1 200"]
