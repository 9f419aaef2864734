"""The message file: defaults load, a shop's rewording applies, mistakes are named."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import texts
from bot.texts import TextsError


@pytest.fixture(autouse=True)
def _fresh_texts() -> Iterator[None]:
    texts.reset()
    yield
    texts.reset()


def test_every_default_text_formats_with_its_own_placeholders() -> None:
    for key, template in texts.DEFAULTS.items():
        values = {name: "X" for name in texts.placeholders(template)}
        assert texts.text(key, **values)


def test_a_shop_rewords_one_text_and_keeps_the_others(tmp_path: Path) -> None:
    mine = tmp_path / "texts.yaml"
    mine.write_text('cancelled: "Order dropped. Come back soon!"\n', encoding="utf-8")
    texts.load_overrides(mine)
    assert texts.text("cancelled") == "Order dropped. Come back soon!"
    assert texts.text("summary_total", total="$5") == texts.DEFAULTS["summary_total"].format(
        total="$5")


def test_a_misspelt_key_and_an_unknown_placeholder_are_both_named(tmp_path: Path) -> None:
    mine = tmp_path / "texts.yaml"
    mine.write_text('cancelld: "x"\nsummary_total: "Total {amount}"\n', encoding="utf-8")
    with pytest.raises(TextsError) as caught:
        texts.load_overrides(mine)
    message = str(caught.value)
    assert "'cancelld' is not a known text" in message
    assert "{amount}" in message and "total" in message
    assert texts.text("cancelled") == texts.DEFAULTS["cancelled"]  # nothing half-applied


def test_a_file_that_is_not_key_text_pairs_is_refused(tmp_path: Path) -> None:
    mine = tmp_path / "texts.yaml"
    mine.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(TextsError, match="one `key: text` per line"):
        texts.load_overrides(mine)
