"""Every sentence the bot says to a customer, loaded from one message file (bot/texts.yaml).

A shop rewords texts with its own file (ORDERBOT_TEXTS): keys it leaves out keep the default
wording. An override is checked when it is loaded: unknown keys (typos) and placeholders the
default does not have are refused with a message naming the key, so a broken file never reaches
a customer as a KeyError.
"""

from __future__ import annotations

import string
from pathlib import Path

import yaml

DEFAULT_FILE = Path(__file__).with_name("texts.yaml")


class TextsError(ValueError):
    """The message file cannot be used; the message says what to fix."""


def _read(path: Path) -> dict[str, str]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise TextsError(f"{path}: cannot read the message file: {error}") from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise TextsError(f"{path}: write one `key: text` per line (every text is a string)")
    return data


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


DEFAULTS: dict[str, str] = _read(DEFAULT_FILE)
TEXTS: dict[str, str] = dict(DEFAULTS)


def load_overrides(path: Path) -> None:
    """Reword texts from a shop's file; raises TextsError, leaving the texts unchanged."""
    overrides = _read(path)
    problems = []
    for key, template in overrides.items():
        if key not in DEFAULTS:
            problems.append(f"'{key}' is not a known text (check the spelling against "
                            f"{DEFAULT_FILE.name})")
            continue
        try:
            extra = placeholders(template) - placeholders(DEFAULTS[key])
        except ValueError as error:
            problems.append(f"'{key}': {error} (write a literal brace as {{{{ or }}}})")
            continue
        if extra:
            problems.append(f"'{key}' uses {{{', '.join(sorted(extra))}}}, which this text does "
                            f"not have; it can use {sorted(placeholders(DEFAULTS[key])) or 'none'}")
    if problems:
        raise TextsError(f"{path}: " + "; ".join(problems))
    TEXTS.clear()
    TEXTS.update(DEFAULTS | overrides)


def reset() -> None:
    TEXTS.clear()
    TEXTS.update(DEFAULTS)


def text(key: str, **values: object) -> str:
    return TEXTS[key].format(**values)
