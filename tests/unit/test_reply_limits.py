"""Replies too long for WhatsApp are split so they still arrive, with every word and button."""

from __future__ import annotations

from adapters.whatsapp_limits import validate_outbound
from bot.replies import ButtonsReply, Reply, TextReply, fit_to_whatsapp, graph_payload

BUTTONS = (("confirm:1", "Confirm"), ("edit:1", "Edit"), ("cancel:1", "Cancel"))


def test_a_long_summary_sends_its_lines_as_text_then_the_question_with_the_buttons() -> None:
    lines = [f"• 2 × Item number {n} — $10.00" for n in range(60)]
    body = "\n".join(["Your order:", *lines, "Total: $1200.00", "Shall I place this order?"])
    fitted = fit_to_whatsapp([ButtonsReply(body, BUTTONS)])
    *texts, buttons = fitted
    assert isinstance(buttons, ButtonsReply) and buttons.buttons == BUTTONS
    assert buttons.body == "Shall I place this order?"
    sent_text = "\n".join(t.body for t in texts if isinstance(t, TextReply))
    assert all(line in sent_text for line in lines) and "Total: $1200.00" in sent_text
    for reply in fitted:
        assert validate_outbound(graph_payload(reply, "15550001111")) == []


def test_short_replies_are_untouched() -> None:
    replies: list[Reply] = [TextReply("hi"), ButtonsReply("Shall I place this order?", BUTTONS)]
    assert fit_to_whatsapp(replies) == replies


def test_a_text_over_4096_characters_is_cut_at_line_breaks() -> None:
    body = "\n".join(f"line {n:05d} " + "x" * 50 for n in range(200))
    parts = fit_to_whatsapp([TextReply(body)])
    assert len(parts) > 1
    assert all(isinstance(p, TextReply) and len(p.body) <= 4096 for p in parts)
    assert "\n".join(p.body for p in parts if isinstance(p, TextReply)) == body


def test_a_username_only_customer_is_addressed_by_recipient_not_to() -> None:
    payload = graph_payload(TextReply("hi"), "US.1000000000000000002")
    assert payload["recipient"] == "US.1000000000000000002" and "to" not in payload
    assert validate_outbound(payload) == []
    phone = graph_payload(TextReply("hi"), "15550002222")
    assert phone["to"] == "+15550002222" and "recipient" not in phone


def test_the_limits_refuse_a_send_with_no_or_a_malformed_recipient() -> None:
    payload = graph_payload(TextReply("hi"), "15550002222")
    del payload["to"]
    assert any("required" in problem for problem in validate_outbound(payload))
    payload["recipient"] = "+15550002222"
    assert any("business-scoped user id" in p for p in validate_outbound(payload))
