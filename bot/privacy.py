"""Keeping customers' phone numbers out of logs."""

from __future__ import annotations

import re


def mask(wa_id: str) -> str:
    """Enough of a number to tell customers apart in a log, not enough to call them."""
    return "…" + wa_id[-4:] if len(wa_id) > 4 else "…"


# A last line of defence for log text (bot.logs.Redactor), after the explicit mask() calls.
# Tokens that merely look like numbers are matched first and kept as they are: wamids (base64
# may hold digit runs), ISO dates and times, UUIDs.
_KEEP = (r"wamid\.[\w+/=-]+"
         r"|\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
         r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# A phone number: optional +, an optional (area code), digit groups split by single spaces or
# hyphens; never part of a word, a decimal or a dotted address (IPs, versions, durations).
_PHONE = (r"(?<![\w.+])\+?(?:\d{1,3}[ -]?)?(?:\(\d{1,4}\)[ -]?)?\d+(?:[ -]\d+)*"
          r"(?![\w+]|[.,]\d)")
# A business-scoped user id (customers known by username): country, '.', alphanumerics.
_BSUID = r"(?<![\w.])[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{8,128}(?![\w.])"
_NUMBER_LIKE = re.compile(rf"(?P<keep>{_KEEP})|(?P<phone>{_PHONE})|(?P<bsuid>{_BSUID})")
# A cheap first look: seven digits with separators at the least, or a BSUID's "US." (most log
# lines, e.g. the access log's, have neither and skip the costly scan above).
_CANDIDATE = re.compile(r"\d[\d ()-]{5,}\d|[A-Z]{2}\.")
_DIGIT_RUN = re.compile(r"\d+")
_SEPARATOR = re.compile(r"[ -]")
_E164_DIGITS = range(7, 16)
_NANP_DIGITS = 11  # country code 1 (North America) numbers always have 11 digits


def mask_numbers(text: str) -> str:
    """`text` with every phone number or BSUID in it masked like mask() does.

    Order numbers (#1042), ports, IPs, timestamps (ISO or Unix seconds/milliseconds),
    durations, wamids and UUIDs stay as they are.
    """
    if _CANDIDATE.search(text) is None:
        return text
    return _NUMBER_LIKE.sub(_masked, text)


def _masked(match: re.Match[str]) -> str:
    token = match.group()
    if len(token) < _E164_DIGITS.start or match.group("keep") is not None:
        return token  # most matches: a short number (a count, an order number, a port)
    if match.group("bsuid") is not None:
        return mask(token) if sum(char.isdecimal() for char in token) >= 4 else token
    if _is_phone(token):
        return mask("".join(char for char in token if char.isdecimal()))
    # Not one number as a whole (e.g. "15550002222 2" from "%s %d"): each digit run alone.
    return _DIGIT_RUN.sub(lambda run: mask(run.group()) if _is_phone(run.group())
                          else run.group(), token)


def _is_phone(token: str) -> bool:
    digits = "".join(char for char in token if char.isdecimal())
    if len(digits) not in _E164_DIGITS:
        return False
    marked = token.startswith("+") or "(" in token
    if not marked and digits.startswith("1") and len(digits) != _NANP_DIGITS:
        return False  # not a +1 number: Unix times (10 and 13 digits) start with 1 until 2033
    groups = len(_SEPARATOR.split(token))
    # Plain digits (a wa_id), a number written with + or (area code), or three groups or more:
    # "8080-8082" or "1001 1002" are ranges and lists, not numbers.
    return groups == 1 or marked or groups >= 3
