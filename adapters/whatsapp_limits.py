"""Pure checks of outbound Cloud API /messages bodies against the documented shapes and limits."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

# Limits from the protocol reference (shared/whatsapp-cloud-api.md §6). Lengths are Unicode code
# points, i.e. len() of the str: that is what the reference's "chars" means for emoji too.
MAX_TEXT_BODY: Final = 4096
MAX_BUTTONS: Final = 3
MAX_BUTTON_ID: Final = 256
MAX_BUTTON_TITLE: Final = 20
MAX_BUTTON_BODY: Final = 1024
MAX_HEADER_TEXT: Final = 60
MAX_FOOTER_TEXT: Final = 60
MAX_LIST_BUTTON: Final = 20
MAX_LIST_SECTIONS: Final = 10
MAX_LIST_ROWS: Final = 10
MAX_ROW_ID: Final = 200
MAX_ROW_TITLE: Final = 24
MAX_ROW_DESCRIPTION: Final = 72
MAX_SECTION_TITLE: Final = 24
MAX_LIST_BODY: Final = 4096
MAX_BIZ_OPAQUE_CALLBACK_DATA: Final = 512  # echoed back in the message's status webhooks
MIN_PHONE_DIGITS: Final = 6
MAX_PHONE_DIGITS: Final = 15
# A template's text parameter is one line: Meta refuses new-lines, tabs and runs of more than
# four spaces in it (Graph error 132018).
_NOT_ONE_LINE: Final = re.compile(r"[\n\r\t]| {5}")

MESSAGE_TYPES: Final = frozenset(
    {
        "text",
        "interactive",
        "template",
        "reaction",
        "location",
        "image",
        "audio",
        "video",
        "document",
        "sticker",
        "contacts",
    }
)
MEDIA_TYPES: Final = frozenset({"image", "audio", "video", "document", "sticker"})
BUTTON_HEADER_TYPES: Final = frozenset({"text", "image", "video", "document"})
RECIPIENT_TYPES: Final = frozenset({"individual", "group"})

# ASCII digits only: str.isdigit()/\d would accept Arabic-Indic or full-width digits.
_PHONE_RE: Final = re.compile(rf"\+?[0-9]{{{MIN_PHONE_DIGITS},{MAX_PHONE_DIGITS}}}")
# A business-scoped user id (username-only customers, 2026): country code, '.', alphanumerics.
BSUID_RE: Final = re.compile(r"[A-Z]{2}\.[A-Za-z0-9]{1,128}")

Problems = list[str]
_Checker = Callable[[Problems, Any, str], None]


def validate_outbound(payload: dict[str, Any]) -> list[str]:
    """Return the problems with a /messages request body; an empty list means it may be sent."""
    if not isinstance(payload, dict):
        return ["body: must be a JSON object"]
    problems: Problems = []
    if payload.get("messaging_product") != "whatsapp":
        problems.append("messaging_product: must be 'whatsapp'")
    if "status" in payload:
        _check_mark_read(problems, payload)
    else:
        _check_send(problems, payload)
    return problems


def _check_mark_read(problems: Problems, payload: dict[str, Any]) -> None:
    if payload["status"] != "read":
        problems.append("status: must be 'read' (the only status a business can set)")
    _text(problems, "message_id", payload.get("message_id"), max_len=None)
    if "typing_indicator" in payload and payload["typing_indicator"] != {"type": "text"}:
        problems.append("typing_indicator: must be {'type': 'text'}")


def _check_send(problems: Problems, payload: dict[str, Any]) -> None:
    to = payload.get("to")
    recipient = payload.get("recipient")  # a business-scoped user id instead of / beside `to`
    if to is None and recipient is None:
        problems.append("to: required for sends (or recipient: a business-scoped user id)")
    if to is not None and (not isinstance(to, str) or not _PHONE_RE.fullmatch(to)):
        problems.append(
            f"to: must be {MIN_PHONE_DIGITS}-{MAX_PHONE_DIGITS} digits with an optional"
            f" leading '+', got {to!r}"
        )
    if recipient is not None and (not isinstance(recipient, str)
                                  or not BSUID_RE.fullmatch(recipient)):
        problems.append(f"recipient: must be a business-scoped user id like "
                        f"'US.1000000000000000001', got {recipient!r}")
    recipient_type = payload.get("recipient_type", "individual")
    if recipient_type not in RECIPIENT_TYPES:
        problems.append(f"recipient_type: must be one of {sorted(RECIPIENT_TYPES)}")
    if "context" in payload:
        _check_context(problems, payload)
    if "biz_opaque_callback_data" in payload:
        _text(problems, "biz_opaque_callback_data", payload["biz_opaque_callback_data"],
              MAX_BIZ_OPAQUE_CALLBACK_DATA)
    kind = payload.get("type")
    if kind not in MESSAGE_TYPES:
        problems.append(f"type: must be one of {sorted(MESSAGE_TYPES)}, got {kind!r}")
        return
    body = payload.get(kind)
    if kind == "contacts":
        if not isinstance(body, list) or not body:
            problems.append("contacts: must be a non-empty list")
        return
    if not isinstance(body, dict):
        problems.append(f"{kind}: must be an object")
        return
    checker: _Checker = _MESSAGE_CHECKERS.get(kind, _check_media)
    checker(problems, body, kind)


def _check_context(problems: Problems, payload: dict[str, Any]) -> None:
    context = payload["context"]
    if not isinstance(context, dict):
        problems.append("context: must be an object")
        return
    _text(problems, "context.message_id", context.get("message_id"), max_len=None)
    if payload.get("type") == "reaction":
        problems.append("context: not allowed on reactions")


def _check_text(problems: Problems, text: dict[str, Any], path: str) -> None:
    _text(problems, f"{path}.body", text.get("body"), MAX_TEXT_BODY)
    if "preview_url" in text and not isinstance(text["preview_url"], bool):
        problems.append(f"{path}.preview_url: must be true or false")


def _check_interactive(problems: Problems, interactive: dict[str, Any], path: str) -> None:
    kind = interactive.get("type")
    action = interactive.get("action")
    if kind not in ("button", "list"):
        # Other interactive kinds (cta_url, product, flow, ...) exist at Meta but the bot
        # never sends them; refusing them here keeps the emulator honest about what we check.
        problems.append(f"{path}.type: must be 'button' or 'list', got {kind!r}")
        return
    if not isinstance(action, dict):
        problems.append(f"{path}.action: must be an object")
        action = {}
    body = interactive.get("body")
    body_text = body.get("text") if isinstance(body, dict) else None
    footer = interactive.get("footer")
    if footer is not None:
        footer_text = footer.get("text") if isinstance(footer, dict) else None
        _text(problems, f"{path}.footer.text", footer_text, MAX_FOOTER_TEXT)
    if kind == "button":
        _text(problems, f"{path}.body.text", body_text, MAX_BUTTON_BODY)
        _check_header(problems, interactive.get("header"), path, BUTTON_HEADER_TYPES)
        _check_buttons(problems, action.get("buttons"), f"{path}.action.buttons")
    else:
        _text(problems, f"{path}.body.text", body_text, MAX_LIST_BODY)
        _check_header(problems, interactive.get("header"), path, frozenset({"text"}))
        _text(problems, f"{path}.action.button", action.get("button"), MAX_LIST_BUTTON)
        _check_sections(problems, action.get("sections"), f"{path}.action.sections")


def _check_header(problems: Problems, header: Any, path: str, allowed: frozenset[str]) -> None:
    if header is None:
        return
    kind = header.get("type") if isinstance(header, dict) else None
    if not isinstance(header, dict) or kind not in allowed:
        problems.append(f"{path}.header.type: must be one of {sorted(allowed)}")
    elif kind == "text":
        _text(problems, f"{path}.header.text", header.get("text"), MAX_HEADER_TEXT)
    else:
        _check_media(problems, header.get(kind), f"{path}.header.{kind}")


def _check_buttons(problems: Problems, buttons: Any, path: str) -> None:
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
        count = len(buttons) if isinstance(buttons, list) else "no list"
        problems.append(f"{path}: must hold 1-{MAX_BUTTONS} buttons, got {count}")
        if not isinstance(buttons, list):
            return
    ids: list[Any] = []
    titles: list[Any] = []
    for index, button in enumerate(buttons):
        where = f"{path}[{index}]"
        if not isinstance(button, dict) or button.get("type") != "reply":
            problems.append(f"{where}: must be {{'type': 'reply', 'reply': {{'id', 'title'}}}}")
            continue
        reply = button.get("reply")
        if not isinstance(reply, dict):
            problems.append(f"{where}.reply: must be an object with 'id' and 'title'")
            continue
        _text(problems, f"{where}.reply.id", reply.get("id"), MAX_BUTTON_ID)
        _text(problems, f"{where}.reply.title", reply.get("title"), MAX_BUTTON_TITLE)
        ids.append(reply.get("id"))
        titles.append(reply.get("title"))
    _unique(problems, f"{path} reply ids", ids)
    _unique(problems, f"{path} reply titles", titles)


def _check_sections(problems: Problems, sections: Any, path: str) -> None:
    if not isinstance(sections, list) or not 1 <= len(sections) <= MAX_LIST_SECTIONS:
        count = len(sections) if isinstance(sections, list) else "no list"
        problems.append(f"{path}: must hold 1-{MAX_LIST_SECTIONS} sections, got {count}")
        if not isinstance(sections, list):
            return
    row_ids: list[Any] = []
    for index, section in enumerate(sections):
        where = f"{path}[{index}]"
        if not isinstance(section, dict):
            problems.append(f"{where}: must be an object")
            continue
        # Meta needs the titles to tell sections apart; a lone section may go untitled.
        if len(sections) > 1 or "title" in section:
            _text(problems, f"{where}.title", section.get("title"), MAX_SECTION_TITLE)
        rows = section.get("rows")
        if not isinstance(rows, list) or not rows:
            problems.append(f"{where}.rows: must be a non-empty list")
            continue
        for row_index, row in enumerate(rows):
            row_ids.append(_check_row(problems, row, f"{where}.rows[{row_index}]"))
    if len(row_ids) > MAX_LIST_ROWS:
        problems.append(
            f"{path}: at most {MAX_LIST_ROWS} rows across all sections, got {len(row_ids)}"
        )
    _unique(problems, f"{path} row ids", row_ids)


def _check_row(problems: Problems, row: Any, where: str) -> Any:
    if not isinstance(row, dict):
        problems.append(f"{where}: must be an object")
        return None
    _text(problems, f"{where}.id", row.get("id"), MAX_ROW_ID)
    _text(problems, f"{where}.title", row.get("title"), MAX_ROW_TITLE)
    if "description" in row:
        _text(problems, f"{where}.description", row["description"], MAX_ROW_DESCRIPTION)
    return row.get("id")


def _check_template(problems: Problems, template: dict[str, Any], path: str) -> None:
    _text(problems, f"{path}.name", template.get("name"), max_len=None)
    language = template.get("language")
    code = language.get("code") if isinstance(language, dict) else None
    _text(problems, f"{path}.language.code", code, max_len=None)
    components = template.get("components")
    # A dict here fails silently at Meta (heyoo #44), so insist on the list shape.
    if components is not None and (
        not isinstance(components, list) or not all(isinstance(c, dict) for c in components)
    ):
        problems.append(f"{path}.components: must be a list of objects")
        return
    for index, component in enumerate(components or ()):
        parameters = component.get("parameters")
        for number, parameter in enumerate(parameters if isinstance(parameters, list) else ()):
            text = parameter.get("text") if isinstance(parameter, dict) else None
            if isinstance(text, str) and _NOT_ONE_LINE.search(text):
                problems.append(f"{path}.components[{index}].parameters[{number}].text: cannot "
                                "have new-line/tab characters or more than 4 consecutive spaces "
                                "(Graph error 132018)")


def _check_reaction(problems: Problems, reaction: dict[str, Any], path: str) -> None:
    _text(problems, f"{path}.message_id", reaction.get("message_id"), max_len=None)
    # An empty emoji is how a reaction is removed, so only the type is checked.
    if not isinstance(reaction.get("emoji"), str):
        problems.append(f"{path}.emoji: must be a string ('' removes the reaction)")


def _check_location(problems: Problems, location: dict[str, Any], path: str) -> None:
    for name, bound in (("latitude", 90), ("longitude", 180)):
        value = location.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"{path}.{name}: must be a number")
        elif not -bound <= value <= bound:
            problems.append(f"{path}.{name}: must be within ±{bound}")


def _check_media(problems: Problems, media: Any, path: str) -> None:
    if not isinstance(media, dict):
        problems.append(f"{path}: must be an object")
        return
    has_id = isinstance(media.get("id"), str) and bool(media["id"])
    has_link = isinstance(media.get("link"), str) and bool(media["link"])
    if not has_id and not has_link:
        problems.append(f"{path}: needs an uploaded media 'id' or a 'link'")


_MESSAGE_CHECKERS: Final[dict[str, _Checker]] = {
    "text": _check_text,
    "interactive": _check_interactive,
    "template": _check_template,
    "reaction": _check_reaction,
    "location": _check_location,
}


def _text(problems: Problems, path: str, value: Any, max_len: int | None) -> None:
    """Require a non-blank str of at most max_len code points."""
    if not isinstance(value, str):
        problems.append(f"{path}: required string")
    elif not value.strip():
        # Meta rejects empty strings; whitespace-only would be a blank bubble or button.
        problems.append(f"{path}: must not be empty")
    elif max_len is not None and len(value) > max_len:
        problems.append(f"{path}: {len(value)} characters, max {max_len}")


def _unique(problems: Problems, what: str, values: list[Any]) -> None:
    seen: set[str] = set()
    reported: set[str] = set()
    for value in values:
        if isinstance(value, str):
            if value in seen and value not in reported:
                problems.append(f"{what}: {value!r} is used more than once")
                reported.add(value)
            seen.add(value)
