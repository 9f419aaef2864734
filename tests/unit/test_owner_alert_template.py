"""An owner alert outside the owner's 24-hour window goes as the alert template (bot.alerts)."""

from __future__ import annotations

from adapters.whatsapp_limits import validate_outbound
from bot.alerts import alert_as_template, one_line
from bot.replies import TextReply, graph_payload
from bot.window import Template

OWNER = "15550001111"
TEMPLATE = Template("owner_alert", "en_US")
ALERT = ("⚠️ Order #1001 could not be sent to the kitchen adapter:\n\tHTTP 503\n\n"
         "Run `orderbot outbox retry 7` after fixing it.")


def test_an_alert_to_the_owner_becomes_the_template_with_the_alert_as_its_variable() -> None:
    message = alert_as_template(graph_payload(TextReply(ALERT), OWNER), OWNER, TEMPLATE)
    assert message is not None and validate_outbound(message) == []
    assert message["to"].lstrip("+") == OWNER and message["type"] == "template"
    template = message["template"]
    assert (template["name"], template["language"]) == ("owner_alert", {"code": "en_US"})
    [body] = template["components"]
    assert body["parameters"] == [{"type": "text", "text": (
        "⚠️ Order #1001 could not be sent to the kitchen adapter: HTTP 503 Run `orderbot "
        "outbox retry 7` after fixing it.")}]


def test_only_a_text_to_the_owner_with_a_template_configured_has_a_fallback() -> None:
    to_owner = graph_payload(TextReply(ALERT), OWNER)
    assert alert_as_template(to_owner, OWNER, None) is None  # no ORDERBOT_ALERT_TEMPLATE
    assert alert_as_template(to_owner, None, TEMPLATE) is None  # no owner in the catalog
    assert alert_as_template(graph_payload(TextReply(ALERT), "15550002222"), OWNER,
                             TEMPLATE) is None  # a customer: their window is the bot's rules'
    assert alert_as_template({"messaging_product": "whatsapp", "status": "read",
                              "message_id": "wamid.A"}, OWNER, TEMPLATE) is None


def test_one_line_collapses_whitespace_and_caps_the_length() -> None:
    assert one_line("a\n\nb\t c     d") == "a b c d"
    long = one_line("word " * 400, limit=50)
    assert len(long) == 50 and long.endswith("…") and "\n" not in long
