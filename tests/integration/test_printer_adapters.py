"""The printer and spool adapters against a real TCP server and a real folder (no mocks)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from adapters.base import AdapterContext, build_adapters
from adapters.db import make_engine, session_factory
from adapters.delivery import DeliveryError
from adapters.printer import NetworkPrinter
from adapters.spool import SpoolFolder
from bot.cart import CartLine, price_cart
from bot.clock import Clock
from bot.config import Settings
from bot.tickets import build_ticket, render_ticket_text
from tests.tcp_printer import RecordingPrinter
from tests.unit.shop import small_catalog


def ticket(number: int = 1001, name: str = "Alex Buyer") -> dict[str, Any]:
    catalog = small_catalog()
    cart = (CartLine("chicken-shawarma", 2, "large", (("cheese", "extra"),), ("garlic",)),
            CartLine("pepsi", 1, "small"))
    return build_ticket(number, datetime(2026, 11, 27, 19, 30, tzinfo=UTC),
                        price_cart(cart, catalog), catalog, name)


@pytest.fixture
async def printer() -> AsyncIterator[RecordingPrinter]:
    running = await RecordingPrinter().start()
    yield running
    await running.stop()


async def until(condition: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_the_ticket_prints_as_one_escpos_job_that_fits_the_paper(
    printer: RecordingPrinter
) -> None:
    adapter = NetworkPrinter("127.0.0.1", printer.port, width=32)
    receipt = await adapter.deliver(ticket(), "order-1001:printer")
    await until(lambda: len(printer.jobs) == 1)
    [text] = printer.texts()  # starts with init + code page, ends with feed and cut
    assert text == render_ticket_text(ticket(), 32) + "\n"
    assert "NO GARLIC SAUCE" in text and "ORDER #1001" in text
    assert max(len(line) for line in text.splitlines()) <= 32
    assert receipt == f"printed {len(printer.jobs[0])} bytes on 127.0.0.1:{printer.port}"


async def test_accents_survive_and_scripts_the_printer_lacks_keep_their_columns(
    printer: RecordingPrinter
) -> None:
    data = ticket(name="Zoë Buyer")
    data["lines"][0]["product"] = "Ćevapi"
    data["lines"][1]["product"] = "珍珠奶茶"
    await NetworkPrinter("127.0.0.1", printer.port, width=32).deliver(data, "k")
    await until(lambda: len(printer.jobs) == 1)
    [text] = printer.texts()
    assert "PICKUP · Zoë" in text  # ë and · exist in PC437
    assert "2 x Cevapi (Large)" in text  # Ć does not: it loses its accent
    assert "1 x ???? (Small)" in text  # one '?' per character, never a broken byte sequence
    assert max(len(line) for line in text.splitlines()) <= 32


async def test_a_repeated_key_is_not_printed_twice(printer: RecordingPrinter) -> None:
    adapter = NetworkPrinter("127.0.0.1", printer.port)
    await adapter.deliver(ticket(1001), "order-1001:printer")
    again = await adapter.deliver(ticket(1001), "order-1001:printer")
    await adapter.deliver(ticket(1002), "order-1002:printer")
    await until(lambda: len(printer.jobs) == 2)
    await asyncio.sleep(0.1)  # a third job, if one were sent, would have arrived by now
    assert again.startswith("already printed")
    assert ["#1001" in text for text in printer.texts()] == [True, False]


async def test_a_printer_that_is_off_is_a_retryable_failure_then_prints_when_back() -> None:
    back = RecordingPrinter.switched_off()
    port = back.port
    adapter = NetworkPrinter("127.0.0.1", port)
    with pytest.raises(DeliveryError) as refused:
        await adapter.deliver(ticket(), "order-1001:printer")
    assert refused.value.retryable
    assert f"127.0.0.1:{port} unreachable" in str(refused.value)

    await back.start()  # switched on again
    try:
        await adapter.deliver(ticket(), "order-1001:printer")
        await until(lambda: len(back.jobs) == 1)
    finally:
        await back.stop()


async def test_a_printer_that_does_not_answer_times_out_as_retryable() -> None:
    # A listener whose one-connection queue is full: new connections hang, like a printer
    # busy with another machine's job.
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(0)
        port = busy.getsockname()[1]
        _first, holder = await asyncio.open_connection("127.0.0.1", port)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(DeliveryError) as hung:
            await NetworkPrinter("127.0.0.1", port, timeout=0.3).deliver(ticket(), "k")
        holder.close()
    assert hung.value.retryable and "TimeoutError" in str(hung.value)
    assert loop.time() - started < 2.0


async def test_spool_writes_each_ticket_whole_and_once(tmp_path: Path) -> None:
    folder = tmp_path / "spool" / "kitchen"  # created on first use
    spool = SpoolFolder(folder, width=48)
    first = await spool.deliver(ticket(1001), "order-1001:spool")
    assert first == "spooled as 1001-spool.txt"
    written = (folder / "1001-spool.txt").read_text(encoding="utf-8")
    assert written == render_ticket_text(ticket(1001), 48) + "\n"

    again = await spool.deliver(ticket(1001), "order-1001:spool")
    assert again == "already spooled as 1001-spool.txt"
    # The shop's print script takes the file away; a late repeat must not print it again.
    (folder / "1001-spool.txt").unlink()
    await spool.deliver(ticket(1001), "order-1001:spool")
    await spool.deliver(ticket(1002), "order-1002:spool")
    assert sorted(path.name for path in folder.iterdir() if not path.name.startswith(".")) == [
        "1002-spool.txt"]
    assert not [path for path in folder.iterdir() if path.suffix == ".tmp"]  # no leftovers


async def test_spool_without_a_usable_folder_is_retryable(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(DeliveryError) as failed:
        await SpoolFolder(blocker / "tickets").deliver(ticket(), "order-1001:spool")
    assert failed.value.retryable and "1001-spool.txt" in str(failed.value)


async def test_the_registry_builds_both_from_settings(
    tmp_path: Path, printer: RecordingPrinter
) -> None:
    settings = Settings(adapters="printer, spool", printer_host="127.0.0.1",
                        printer_port=printer.port, printer_width=32, spool_dir=tmp_path,
                        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    engine = make_engine(settings.database_url)
    context = AdapterContext(settings, _no_http, session_factory(engine), Clock(),
                             web.Application())
    adapters = build_adapters(settings.ticket_adapters(), context)
    assert [adapter.name for adapter in adapters] == ["printer", "spool"]
    for adapter in adapters:
        await adapter.deliver(ticket(), f"order-1001:{adapter.name}")
    await until(lambda: len(printer.jobs) == 1)
    assert printer.texts()[0].splitlines()[0] == "=" * 32
    assert (tmp_path / "1001-spool.txt").read_text().splitlines()[0] == "=" * 32
    await engine.dispose()


def _no_http() -> Any:
    raise AssertionError("printer and spool do not use HTTP")


async def test_the_registry_builds_each_named_printer_with_its_own_address_and_width(
    tmp_path: Path, printer: RecordingPrinter
) -> None:
    bar = await RecordingPrinter().start()
    settings = Settings(printers=f"kitchen=127.0.0.1:{printer.port}; bar=127.0.0.1:{bar.port}/32",
                        printer_width=48, database_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    engine = make_engine(settings.database_url)
    context = AdapterContext(settings, _no_http, session_factory(engine), Clock(),
                             web.Application())
    try:
        adapters = build_adapters(settings.ticket_adapters(), context)
        assert [adapter.name for adapter in adapters] == ["printer:kitchen", "printer:bar"]
        for adapter in adapters:
            await adapter.deliver(ticket(), f"order-1001:{adapter.name}")
        await until(lambda: len(printer.jobs) == 1 and len(bar.jobs) == 1)
        assert printer.texts()[0].splitlines()[0] == "=" * 48  # ORDERBOT_PRINTER_WIDTH
        assert bar.texts()[0].splitlines()[0] == "=" * 32  # its own "/32"
    finally:
        await bar.stop()
        await engine.dispose()
