"""Live reloading: a saved fix goes live, a broken save never replaces the last good catalog."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import pytest

from catalog.errors import CatalogError
from catalog.reloader import CatalogHolder

GOOD = """\
shop:
  name: Test Grill
products:
  - {id: pepsi, name: Pepsi, price: 1.99}
"""
BETTER = GOOD + "  - {id: water, name: Water, price: 1.49}\n"
BROKEN = GOOD + "  - {id: water, name: Water, price: abc}\n"


class EditedFile:
    """A catalog file whose every save gets a new mtime, as a real editor's save would."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.saves = 0
        self.save(text)

    def save(self, text: str) -> None:
        self.path.write_text(text, encoding="utf-8")
        self.touch()

    def touch(self) -> None:
        # Filesystems with coarse timestamps could give two quick saves the same mtime.
        self.saves += 1
        stamp = 1_700_000_000_000_000_000 + self.saves * 1_000_000_000
        os.utime(self.path, ns=(stamp, stamp))


@pytest.fixture
def menu(tmp_path: Path) -> EditedFile:
    return EditedFile(tmp_path / "menu.yaml", GOOD)


def test_first_load_is_current(menu: EditedFile) -> None:
    holder = CatalogHolder(menu.path)
    assert [p.id for p in holder.current] == ["pepsi"]
    assert holder.current.source == str(menu.path)


def test_a_broken_first_load_raises(menu: EditedFile) -> None:
    menu.save(BROKEN)
    with pytest.raises(CatalogError) as info:
        CatalogHolder(menu.path)
    assert info.value.problems[0].line == 5
    with pytest.raises(CatalogError):
        CatalogHolder(menu.path.with_name("missing.yaml"))


def test_unchanged_file_is_not_reloaded(menu: EditedFile) -> None:
    holder = CatalogHolder(menu.path)
    before = holder.current
    assert holder.reload_if_changed() is False
    assert holder.current is before


def test_saved_change_becomes_current(menu: EditedFile) -> None:
    holder = CatalogHolder(menu.path)
    menu.save(BETTER)
    assert holder.reload_if_changed() is True
    assert [p.id for p in holder.current] == ["pepsi", "water"]
    assert holder.reload_if_changed() is False


def test_touched_file_with_same_content_is_not_reloaded(menu: EditedFile) -> None:
    holder = CatalogHolder(menu.path)
    before = holder.current
    menu.touch()
    assert holder.reload_if_changed() is False
    assert holder.current is before


def test_same_size_change_is_noticed(menu: EditedFile) -> None:
    holder = CatalogHolder(menu.path)
    menu.save(GOOD.replace("1.99", "2.49"))
    assert holder.reload_if_changed() is True
    pepsi = holder.current.product("pepsi")
    assert pepsi is not None
    assert str(pepsi.price) == "2.49"


def test_broken_save_keeps_the_last_good_catalog_and_logs_why(
    menu: EditedFile, caplog: pytest.LogCaptureFixture
) -> None:
    holder = CatalogHolder(menu.path)
    good = holder.current
    menu.save(BROKEN)
    with caplog.at_level(logging.ERROR, logger="catalog.reloader"):
        assert holder.reload_if_changed() is False
    assert holder.current is good
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "keeping the last good catalog" in errors[0]
    assert "menu.yaml, line 5: product 'water' > price: \"abc\" is not a price." in errors[0]


def test_a_broken_version_is_logged_once(
    menu: EditedFile, caplog: pytest.LogCaptureFixture
) -> None:
    holder = CatalogHolder(menu.path)
    menu.save(BROKEN)
    with caplog.at_level(logging.ERROR, logger="catalog.reloader"):
        for _ in range(3):
            assert holder.reload_if_changed() is False
            menu.touch()
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1


def test_fixing_the_file_after_a_broken_save_goes_live(menu: EditedFile) -> None:
    holder = CatalogHolder(menu.path)
    menu.save(BROKEN)
    assert holder.reload_if_changed() is False
    menu.save(BETTER)
    assert holder.reload_if_changed() is True
    assert holder.current.product("water") is not None


def test_deleted_file_keeps_the_last_good_catalog(
    menu: EditedFile, caplog: pytest.LogCaptureFixture
) -> None:
    holder = CatalogHolder(menu.path)
    good = holder.current
    menu.path.unlink()
    with caplog.at_level(logging.ERROR, logger="catalog.reloader"):
        assert holder.reload_if_changed() is False
    assert holder.current is good
    assert "Cannot read the catalog file" in caplog.text
    menu.save(BETTER)
    assert holder.reload_if_changed() is True


async def wait_until_current_has(holder: CatalogHolder, product_id: str) -> bool:
    for _ in range(400):
        if holder.current.product(product_id) is not None:
            return True
        await asyncio.sleep(0.01)
    return False


async def test_watch_picks_up_a_fix_after_a_broken_save(menu: EditedFile) -> None:
    holder = CatalogHolder(menu.path)
    task = asyncio.create_task(holder.watch(interval=0.01))
    try:
        menu.save(BROKEN)
        await asyncio.sleep(0.1)
        assert holder.current.product("water") is None
        assert not task.done()  # a broken file must not end the watcher
        menu.save(BETTER)
        assert await wait_until_current_has(holder, "water")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
