"""One answer per burst: which replies of a burst's messages go out. Pure.

People type "2 shawarma" / "and a pepsi" / "thx" within a second or two. Each message is still
decided on its own (one transaction each, so a crash never loses or doubles one), but a message
with later ones already waiting keeps only its notes; its question or summary is held back. The
next message's own prompt replaces it; if that message asks nothing (a sticker, "thx") and left
the conversation where it was, the held prompt goes out after it, so the customer always ends
the burst knowing what we are waiting for.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.replies import Reply, is_prompt


@dataclass(frozen=True)
class HeldPrompts:
    replies: tuple[Reply, ...] = ()
    revision: int = -1  # the conversation revision and stage the prompts were made for
    stage: str = ""


NOTHING_HELD = HeldPrompts()


def burst_replies(
    replies: tuple[Reply, ...] | list[Reply],
    *,
    revision: int,
    stage: str,
    more_coming: bool,
    held: HeldPrompts,
) -> tuple[list[Reply], HeldPrompts]:
    """(replies to send now, prompts to hold for the next message of the burst)."""
    notes = [reply for reply in replies if not is_prompt(reply)]
    prompts = tuple(reply for reply in replies if is_prompt(reply))
    still_valid = held.replies and (held.revision, held.stage) == (revision, stage)
    current = prompts or (held.replies if still_valid else ())
    if more_coming:
        return notes, HeldPrompts(current, revision, stage) if current else NOTHING_HELD
    if prompts:
        return list(replies), NOTHING_HELD
    return [*notes, *current], NOTHING_HELD
