"""Status webhooks: the biz_opaque_callback_data we sent comes back with the status."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.whatsapp_payloads import MAX_OPAQUE_LENGTH, parse_notification
from tests.paths import whatsapp_fixture


def status_with(**fields: Any) -> dict[str, Any]:
    body = json.loads(whatsapp_fixture("status_sent.json"))
    body["entry"][0]["changes"][0]["value"]["statuses"][0].update(fields)
    return dict(body)


def test_the_callback_data_is_read_with_the_status() -> None:
    [status] = parse_notification(status_with(biz_opaque_callback_data="reply:wamid.X:0")).statuses
    assert (status.status, status.opaque, status.accepted) == ("sent", "reply:wamid.X:0", True)


def test_a_status_without_callback_data_has_none() -> None:
    [status] = parse_notification(status_with()).statuses
    assert status.opaque is None


@pytest.mark.parametrize("value", [12, "", None, ["k"], "k" * (MAX_OPAQUE_LENGTH + 1)])
def test_callback_data_we_could_not_have_sent_is_ignored_not_stored(value: Any) -> None:
    [status] = parse_notification(status_with(biz_opaque_callback_data=value)).statuses
    assert status.opaque is None and status.wamid.startswith("wamid.")


def test_a_failed_status_does_not_count_as_accepted() -> None:
    [status] = parse_notification(status_with(status="failed",
                                              biz_opaque_callback_data="k")).statuses
    assert not status.accepted and status.opaque == "k"
