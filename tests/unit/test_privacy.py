from __future__ import annotations

from bot.privacy import mask


def test_a_masked_number_keeps_only_its_last_four_digits() -> None:
    assert mask("15550002222") == "…2222"
    assert "1555000" not in mask("15550002222")
    assert mask("12") == "…"
