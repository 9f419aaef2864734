"""Table-driven tests of the outbound payload limits, plus the pure Graph error mapping."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters import whatsapp_limits as limits
from adapters.whatsapp_errors import (
    NO_CODE,
    AuthError,
    GraphAPIError,
    InvalidRequestError,
    RateLimitedError,
    RecipientError,
    ReEngagementError,
    TemporaryError,
    error_from_response,
)
from adapters.whatsapp_limits import validate_outbound

TO = "+15550002222"
Rows = list[tuple[str, str, str | None]]


def send(kind: str, content: Any, **extra: Any) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": TO, "type": kind, kind: content, **extra}


def text(body: Any, **fields: Any) -> dict[str, Any]:
    return send("text", {"body": body, **fields})


def buttons(
    pairs: list[tuple[str, str]],
    body: str = "Confirm your order?",
    header: dict[str, Any] | None = None,
    footer: str | None = None,
) -> dict[str, Any]:
    interactive: dict[str, Any] = {
        "type": "button",
        "body": {"text": body},
        "action": {
            "buttons": [{"type": "reply", "reply": {"id": i, "title": t}} for i, t in pairs]
        },
    }
    if header is not None:
        interactive["header"] = header
    if footer is not None:
        interactive["footer"] = {"text": footer}
    return send("interactive", interactive)


def two_buttons(title: str = "Change", button_id: str = "edit") -> dict[str, Any]:
    return buttons([("confirm", "Confirm"), (button_id, title)])


def rows(count: int, prefix: str = "row") -> Rows:
    return [(f"{prefix}{n}", f"Item {n}", None) for n in range(count)]


def listing(
    sections: list[tuple[str | None, Rows]],
    button: str = "Sizes",
    body: str = "Which size?",
    header: dict[str, Any] | None = None,
) -> dict[str, Any]:
    built = []
    for title, section_rows in sections:
        section: dict[str, Any] = {"rows": []}
        if title is not None:
            section["title"] = title
        for row_id, row_title, description in section_rows:
            row = {"id": row_id, "title": row_title}
            if description is not None:
                row["description"] = description
            section["rows"].append(row)
        built.append(section)
    interactive: dict[str, Any] = {
        "type": "list",
        "body": {"text": body},
        "action": {"button": button, "sections": built},
    }
    if header is not None:
        interactive["header"] = header
    return send("interactive", interactive)


def one_row(row_id: str = "r1", title: str = "Large", description: str | None = None) -> Any:
    return listing([(None, [(row_id, title, description)])])


def read(**extra: Any) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.X", **extra}


# The reference's own examples (shared/whatsapp-cloud-api.md §6.2, §6.3, §6.6) must pass.
DOC_BUTTONS = json.loads(
    '{"messaging_product":"whatsapp","recipient_type":"individual","to":"+15550002222",'
    '"type":"interactive","interactive":{"type":"button","header":{"type":"text","text":'
    '"Your order"},"body":{"text":"2x Margherita (L), 3x Cola. Total $30.25. Confirm?"},'
    '"footer":{"text":"Reply within 24h"},"action":{"buttons":[{"type":"reply","reply":'
    '{"id":"confirm_order:ORD-1001","title":"Confirm order"}},{"type":"reply","reply":'
    '{"id":"edit_order:ORD-1001","title":"Change"}}]}}}'
)
DOC_LIST = json.loads(
    '{"messaging_product":"whatsapp","recipient_type":"individual","to":"+15550002222",'
    '"type":"interactive","interactive":{"type":"list","header":{"type":"text","text":'
    '"Pick a size"},"body":{"text":"Which pizza size?"},"footer":{"text":"Prices incl. tax"},'
    '"action":{"button":"Sizes","sections":[{"title":"Pizza","rows":[{"id":"size:medium",'
    '"title":"Medium (12 in)","description":"Serves 2"},{"id":"size:large","title":'
    '"Large (14 in)","description":"Serves 3-4 people"}]}]}}}'
)
DOC_TEMPLATE = json.loads(
    '{"messaging_product":"whatsapp","recipient_type":"individual","to":"+15550002222",'
    '"type":"template","template":{"name":"order_ready","language":{"code":"en_US"},'
    '"components":[{"type":"header","parameters":[{"type":"image","image":{"link":'
    '"https://example.com/banner.png"}}]},{"type":"body","parameters":[{"type":"text",'
    '"text":"Alex"},{"type":"text","text":"ORD-1001"}]},{"type":"button","sub_type":'
    '"quick_reply","index":"0","parameters":[{"type":"payload","payload":"reorder:ORD-1001"}]}]}}'
)

PIZZA = "\U0001f355"  # one code point
FLAG = "\U0001f1fa\U0001f1f8"  # one visible flag, two code points

VALID = [
    pytest.param(DOC_BUTTONS, id="doc-buttons"),
    pytest.param(DOC_LIST, id="doc-list"),
    pytest.param(DOC_TEMPLATE, id="doc-template"),
    pytest.param(text("x" * 4096), id="text-4096"),
    pytest.param(text("see https://x.test", preview_url=True), id="text-preview"),
    pytest.param({**text("hi"), "to": "15550002222"}, id="to-without-plus"),
    pytest.param({**text("hi"), "to": "123456"}, id="to-6-digits"),
    pytest.param({**text("hi"), "to": "+" + "1" * 15}, id="to-15-digits"),
    pytest.param(text("hi", preview_url=False) | {"context": {"message_id": "wamid.A"}}, id="ctx"),
    pytest.param(two_buttons(title="t" * 20), id="button-title-20"),
    pytest.param(two_buttons(title=PIZZA * 20), id="button-title-20-emoji"),
    pytest.param(two_buttons(title=FLAG * 10), id="button-title-10-flags"),
    pytest.param(two_buttons(button_id="i" * 256), id="button-id-256"),
    pytest.param(buttons([("a", "A")]), id="1-button"),
    pytest.param(buttons([("a", "A"), ("b", "B"), ("c", "C")]), id="3-buttons"),
    pytest.param(buttons([("a", "A")], body="b" * 1024), id="button-body-1024"),
    pytest.param(buttons([("a", "A")], footer="f" * 60), id="button-footer-60"),
    pytest.param(buttons([("a", "A")], header={"type": "text", "text": "h" * 60}), id="hdr-60"),
    pytest.param(
        buttons([("a", "A")], header={"type": "image", "image": {"link": "https://x/i.png"}}),
        id="button-image-header",
    ),
    pytest.param(listing([("One", rows(5, "a")), ("Two", rows(5, "b"))]), id="list-10-rows"),
    pytest.param(listing([(f"S{n}", rows(1, f"s{n}-")) for n in range(10)]), id="10-sections"),
    pytest.param(listing([(None, rows(1))]), id="list-one-untitled-section"),
    pytest.param(listing([("s" * 24, rows(1))]), id="section-title-24"),
    pytest.param(one_row(row_id="i" * 200), id="row-id-200"),
    pytest.param(one_row(title="t" * 24), id="row-title-24"),
    pytest.param(one_row(description="d" * 72), id="row-description-72"),
    pytest.param(listing([(None, rows(1))], button="b" * 20), id="list-button-20"),
    pytest.param(listing([(None, rows(1))], body="b" * 4096), id="list-body-4096"),
    pytest.param(listing([(None, rows(1))], header={"type": "text", "text": "h" * 60}), id="lh60"),
    pytest.param(read(), id="mark-read"),
    pytest.param(read(typing_indicator={"type": "text"}), id="mark-read-typing"),
    pytest.param(send("reaction", {"message_id": "wamid.A", "emoji": ""}), id="reaction-remove"),
    pytest.param(send("location", {"latitude": 40.7, "longitude": -74}), id="location"),
    pytest.param(send("image", {"id": "4000000000000009"}), id="image-by-id"),
    pytest.param(send("contacts", [{"name": {"formatted_name": "Jo"}}]), id="contacts"),
]


@pytest.mark.parametrize("payload", VALID)
def test_valid_payloads_have_no_problems(payload: dict[str, Any]) -> None:
    assert validate_outbound(payload) == []


INVALID = [
    pytest.param(text("x" * 4097), ["text.body: 4097 characters, max 4096"], id="text-4097"),
    pytest.param(text(""), ["text.body: must not be empty"], id="text-empty"),
    pytest.param(text("  \n"), ["text.body: must not be empty"], id="text-blank"),
    pytest.param(text(None), ["text.body: required string"], id="text-missing"),
    pytest.param(text("hi", preview_url="yes"), ["text.preview_url"], id="preview-not-bool"),
    pytest.param({**text("hi"), "messaging_product": "sms"}, ["messaging_product"], id="product"),
    pytest.param({**text("hi"), "to": "+12345"}, ["to: must be 6-15 digits"], id="to-5-digits"),
    pytest.param({**text("hi"), "to": "1" * 16}, ["to: must be 6-15 digits"], id="to-16-digits"),
    pytest.param({**text("hi"), "to": "+1 555 0002"}, ["to: must be"], id="to-spaces"),
    pytest.param({**text("hi"), "to": "١٥٥٥٠٠٠٢٢٢٢"}, ["to: must be"], id="to-arabic-digits"),
    pytest.param({**text("hi"), "to": None}, ["to: required"], id="to-missing"),
    pytest.param({**text("hi"), "recipient_type": "broadcast"}, ["recipient_type"], id="rcpt"),
    pytest.param(send("poll", {"q": "?"}), ["type: must be one of"], id="unknown-type"),
    pytest.param(send("text", "hi"), ["text: must be an object"], id="text-not-object"),
    pytest.param(
        text("hi") | {"context": {"message_id": 7}}, ["context.message_id"], id="ctx-id-int"
    ),
    pytest.param(text("hi") | {"context": "wamid.A"}, ["context: must be"], id="ctx-not-obj"),
    pytest.param(
        two_buttons(title="t" * 21), ["reply.title: 21 characters, max 20"], id="title-21"
    ),
    pytest.param(two_buttons(title=PIZZA * 21), ["reply.title: 21 characters"], id="title-21-emo"),
    pytest.param(two_buttons(title=FLAG * 11), ["reply.title: 22 characters"], id="title-11-flags"),
    pytest.param(two_buttons(title=""), ["reply.title: must not be empty"], id="title-empty"),
    pytest.param(two_buttons(button_id="i" * 257), ["reply.id: 257 characters"], id="id-257"),
    pytest.param(two_buttons(button_id=""), ["reply.id: must not be empty"], id="id-empty"),
    pytest.param(
        buttons([("a", "A"), ("b", "B"), ("c", "C"), ("d", "D")]),
        ["must hold 1-3 buttons, got 4"],
        id="4-buttons",
    ),
    pytest.param(buttons([]), ["must hold 1-3 buttons, got 0"], id="0-buttons"),
    pytest.param(
        buttons([("same", "One"), ("same", "Two"), ("same", "Three")]),
        ["reply ids: 'same' is used more than once"],
        id="duplicate-ids",
    ),
    pytest.param(
        buttons([("a", "Yes"), ("b", "Yes")]), ["reply titles: 'Yes' is used"], id="dup-titles"
    ),
    pytest.param(
        buttons([("a", "A")], body="b" * 1025), ["body.text: 1025 characters, max 1024"], id="b1025"
    ),
    pytest.param(buttons([("a", "A")], body=""), ["body.text: must not be empty"], id="body-empty"),
    pytest.param(buttons([("a", "A")], footer="f" * 61), ["footer.text: 61"], id="footer-61"),
    pytest.param(
        buttons([("a", "A")], header={"type": "text", "text": "h" * 61}),
        ["header.text: 61 characters, max 60"],
        id="header-61",
    ),
    pytest.param(
        buttons([("a", "A")], header={"type": "image", "image": {}}),
        ["header.image: needs an uploaded media 'id' or a 'link'"],
        id="image-header-empty",
    ),
    pytest.param(
        send(
            "interactive",
            {
                "type": "button",
                "body": {"text": "?"},
                "action": {"buttons": [{"type": "url", "reply": {"id": "a", "title": "A"}}]},
            },
        ),
        ["buttons[0]: must be {'type': 'reply'"],
        id="button-not-reply",
    ),
    pytest.param(
        send("interactive", {"type": "cta_url", "body": {"text": "?"}, "action": {}}),
        ["interactive.type: must be 'button' or 'list'"],
        id="interactive-kind",
    ),
    pytest.param(
        listing([("One", rows(5, "a")), ("Two", rows(6, "b"))]),
        ["at most 10 rows across all sections, got 11"],
        id="list-11-rows",
    ),
    pytest.param(
        listing([(f"S{n}", rows(1, f"s{n}-")) for n in range(11)]),
        ["must hold 1-10 sections, got 11", "at most 10 rows across all sections, got 11"],
        id="11-sections",
    ),
    pytest.param(listing([]), ["must hold 1-10 sections, got 0"], id="0-sections"),
    pytest.param(listing([(None, [])]), ["rows: must be a non-empty list"], id="empty-section"),
    pytest.param(
        listing([(None, rows(1, "a")), ("Two", rows(1, "b"))]),
        ["sections[0].title: required string"],
        id="untitled-of-two",
    ),
    pytest.param(listing([("s" * 25, rows(1))]), ["title: 25 characters, max 24"], id="sect-25"),
    pytest.param(one_row(row_id="i" * 201), ["rows[0].id: 201 characters, max 200"], id="rid-201"),
    pytest.param(one_row(title="t" * 25), ["rows[0].title: 25 characters, max 24"], id="rt-25"),
    pytest.param(one_row(description="d" * 73), ["description: 73 characters"], id="desc-73"),
    pytest.param(
        listing([("One", rows(2, "x")), ("Two", rows(2, "x"))]),
        ["row ids: 'x0' is used", "row ids: 'x1' is used"],
        id="duplicate-row-ids-across-sections",
    ),
    pytest.param(listing([(None, rows(1))], button="b" * 21), ["action.button: 21"], id="lb-21"),
    pytest.param(listing([(None, rows(1))], button=""), ["action.button: must not"], id="lb-0"),
    pytest.param(listing([(None, rows(1))], body="b" * 4097), ["body.text: 4097"], id="lbody"),
    pytest.param(
        listing([(None, rows(1))], header={"type": "text", "text": "h" * 61}),
        ["header.text: 61"],
        id="list-header-61",
    ),
    pytest.param(
        listing([(None, rows(1))], header={"type": "image", "image": {"link": "https://x"}}),
        ["header.type: must be one of ['text']"],
        id="list-media-header",
    ),
    pytest.param(read(status="delivered"), ["status: must be 'read'"], id="status-delivered"),
    pytest.param(read(message_id=None), ["message_id: required string"], id="read-no-id"),
    pytest.param(read(typing_indicator=True), ["typing_indicator"], id="typing-bad"),
    pytest.param(
        {**DOC_TEMPLATE, "template": {**DOC_TEMPLATE["template"], "components": {"type": "body"}}},
        ["template.components: must be a list"],
        id="template-components-dict",
    ),
    pytest.param(
        send("template", {"name": "owner_alert", "language": {"code": "en"}, "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "two\nlines"},
                                            {"type": "text", "text": "wide     gap"}]}]}),
        ["parameters[0].text: cannot have new-line", "parameters[1].text: cannot have new-line"],
        id="template-parameter-not-one-line",
    ),
    pytest.param(send("template", {"language": {"code": "en"}}), ["template.name"], id="tpl-name"),
    pytest.param(send("template", {"name": "x", "language": "en"}), ["language.code"], id="lang"),
    pytest.param(
        send("reaction", {"message_id": "wamid.A", "emoji": "x"}, context={"message_id": "m"}),
        ["context: not allowed on reactions"],
        id="reaction-context",
    ),
    pytest.param(send("reaction", {"message_id": "wamid.A"}), ["reaction.emoji"], id="no-emoji"),
    pytest.param(send("location", {"latitude": 91, "longitude": 0}), ["latitude"], id="lat-91"),
    pytest.param(send("location", {"latitude": True, "longitude": 0}), ["latitude"], id="lat-b"),
    pytest.param(send("image", {"caption": "menu"}), ["image: needs"], id="image-no-media"),
    pytest.param(send("contacts", []), ["contacts: must be a non-empty list"], id="no-contacts"),
]


@pytest.mark.parametrize(("payload", "expected"), INVALID)
def test_invalid_payloads_name_each_problem(payload: Any, expected: list[str]) -> None:
    problems = validate_outbound(payload)
    assert len(problems) == len(expected), problems
    for fragment, problem in zip(expected, problems, strict=True):
        assert fragment in problem


def test_non_object_body_is_one_problem() -> None:
    assert validate_outbound([text("hi")]) == ["body: must be a JSON object"]  # type: ignore[arg-type]


def test_exported_limits_match_the_reference() -> None:
    documented = {
        "MAX_BUTTONS": 3,
        "MAX_BUTTON_TITLE": 20,
        "MAX_BUTTON_ID": 256,
        "MAX_BUTTON_BODY": 1024,
        "MAX_TEXT_BODY": 4096,
        "MAX_LIST_BODY": 4096,
        "MAX_LIST_ROWS": 10,
        "MAX_LIST_SECTIONS": 10,
        "MAX_LIST_BUTTON": 20,
        "MAX_ROW_ID": 200,
        "MAX_ROW_TITLE": 24,
        "MAX_ROW_DESCRIPTION": 72,
        "MAX_SECTION_TITLE": 24,
        "MAX_HEADER_TEXT": 60,
        "MAX_FOOTER_TEXT": 60,
    }
    assert {name: getattr(limits, name) for name in documented} == documented


# --- Graph error mapping (pure; lives here until it earns its own module test) ---


def graph(code: Any, message: str = "(#x) boom", **extra: Any) -> dict[str, Any]:
    return {"error": {"message": message, "type": "OAuthException", "code": code, **extra}}


ERRORS = [
    pytest.param(400, graph(131047), ReEngagementError, 131047, False, id="131047"),
    pytest.param(400, graph(131056), RateLimitedError, 131056, True, id="131056-400"),
    pytest.param(429, graph(130429), RateLimitedError, 130429, True, id="130429"),
    pytest.param(400, graph(80007), RateLimitedError, 80007, True, id="80007"),
    pytest.param(401, graph(190), AuthError, 190, False, id="190"),
    pytest.param(400, graph(0), AuthError, 0, False, id="0"),
    pytest.param(400, graph(100), InvalidRequestError, 100, False, id="100"),
    pytest.param(400, graph(132016), InvalidRequestError, 132016, False, id="132016"),
    pytest.param(400, graph(132017), GraphAPIError, 132017, False, id="132017-unknown"),
    pytest.param(400, graph(131026), RecipientError, 131026, False, id="131026"),
    pytest.param(500, graph(131000), TemporaryError, 131000, True, id="131000"),
    pytest.param(503, graph(131016), TemporaryError, 131016, True, id="131016"),
    pytest.param(503, graph(99999), TemporaryError, 99999, True, id="unknown-5xx"),
    pytest.param(400, graph("131056"), RateLimitedError, 131056, True, id="code-as-string"),
    pytest.param(400, graph(True), GraphAPIError, NO_CODE, False, id="code-bool"),
    pytest.param(502, "<html>Bad Gateway</html>", TemporaryError, NO_CODE, True, id="html-502"),
    pytest.param(400, None, GraphAPIError, NO_CODE, False, id="none"),
    pytest.param(400, {"error": "oops"}, GraphAPIError, NO_CODE, False, id="error-str"),
    pytest.param(429, {}, RateLimitedError, NO_CODE, True, id="empty-429"),
    pytest.param(401, b"", AuthError, NO_CODE, False, id="empty-401"),
    pytest.param(400, b'{"error":{"code":131047}}', ReEngagementError, 131047, False, id="bytes"),
]


@pytest.mark.parametrize(("status", "body", "cls", "code", "retryable"), ERRORS)
def test_error_from_response_maps_codes(
    status: int, body: Any, cls: type[GraphAPIError], code: int, retryable: bool
) -> None:
    error = error_from_response(status, body)
    assert type(error) is cls
    assert (error.code, error.http_status, error.retryable) == (code, status, retryable)
    assert str(error)


def test_error_fields_come_from_the_envelope() -> None:
    body = graph(
        131047,
        "(#131047) Re-engagement message",
        error_data={"messaging_product": "whatsapp", "details": "more than 24 hours"},
        fbtrace_id="AbCdEf123",
    )
    error = error_from_response(400, json.dumps(body))
    assert error.message == "(#131047) Re-engagement message"
    assert (error.details, error.fbtrace_id) == ("more than 24 hours", "AbCdEf123")
    assert str(error).count("(#131047)") == 1
    assert "AbCdEf123" in str(error) and "more than 24 hours" in repr(error)


def test_owner_alert_for_auth_and_account_problems() -> None:
    assert error_from_response(401, graph(190)).needs_owner_alert
    assert error_from_response(403, graph(10)).needs_owner_alert
    assert error_from_response(403, graph(131031)).needs_owner_alert
    assert not error_from_response(400, graph(131056)).needs_owner_alert


def test_secrets_are_scrubbed_even_from_truncated_snippets() -> None:
    token = "EAAG" + "s3cr3t" * 10
    # The echo puts the token across the 200-character snippet cut.
    echo = "x" * 170 + f"Authorization: Bearer {token}"
    for body in (echo, graph(190, f"bad token {token}", error_data={"details": token})):
        error = error_from_response(400, body, secrets=[token])
        for text_ in (str(error), repr(error), error.message, error.details or ""):
            assert token not in text_ and token[:8] not in text_
