"""ORDERBOT_PRINTERS as a shop owner writes it, and the start-up errors they see."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.config import Settings, load_settings
from bot.named_printers import NamedPrinter, PrintersError, parse_printers
from bot.routing import split_ticket


@pytest.fixture(autouse=True)
def no_outside_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("ORDERBOT_ADAPTERS", "ORDERBOT_ROUTES", "ORDERBOT_PRINTERS",
                 "ORDERBOT_KITCHEN_WEBHOOK_URL", "ORDERBOT_PRINTER_HOST",
                 "ORDERBOT_KITCHEN_DISPLAY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no orderbot.toml from the working folder


def test_names_addresses_ports_and_widths() -> None:
    assert parse_printers(" Kitchen = 192.168.1.50 ;\nbar=192.168.1.51:9101 / 32; "
                          "pass = till.local:9100; cold=[fe80::5]:9100") == (
        NamedPrinter("kitchen", "192.168.1.50"),  # port 9100, ORDERBOT_PRINTER_WIDTH
        NamedPrinter("bar", "192.168.1.51", 9101, 32),
        NamedPrinter("pass", "till.local", 9100),
        NamedPrinter("cold", "fe80::5", 9100))
    assert parse_printers(None) == parse_printers("  ") == ()
    assert parse_printers("bar=10.0.0.9")[0].adapter == "printer:bar"


@pytest.mark.parametrize(("text", "message"), [
    ("kitchen=10.0.0.1; Kitchen=10.0.0.2", "printer 'kitchen' is defined twice"),
    ("bar=", "printer 'bar' has no address after '=': write e.g. 'bar = 192.168.1.51'"),
    ("192.168.1.51", "'192.168.1.51' has no '=': write each printer as 'name = address'"),
    ("bar=10.0.0.9:91000", "printer 'bar': port '91000' must be a number from 1 to 65535"),
    ("bar=10.0.0.9:ip", "printer 'bar': port 'ip' must be a number"),
    ("bar=10.0.0.9:", "printer 'bar': port '' must be a number"),
    ("bar=10.0.0.9/12", "printer 'bar': width '12' after '/' must be 20 to 80 columns"),
    ("bar 2=10.0.0.9", "'bar 2' is not a printer name: use one short word"),
    ("bar=http://10.0.0.9", "'http://10.0.0.9' is not a printer address"),
    ("bar=fe80::5", "an IPv6 address goes in brackets"),
])
def test_each_mistake_is_named_with_how_to_write_it(text: str, message: str) -> None:
    with pytest.raises(PrintersError) as refused:
        parse_printers(text)
    assert message in str(refused.value)


def test_every_bad_entry_is_reported_at_once() -> None:
    with pytest.raises(PrintersError) as refused:
        parse_printers("kitchen=; bar=10.0.0.9:0; pass=10.0.0.10")
    assert "printer 'kitchen' has no address" in str(refused.value)
    assert "printer 'bar': port '0'" in str(refused.value)


def test_start_up_stops_on_a_bad_printer_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERBOT_PRINTERS", "kitchen=192.168.1.50; bar=192.168.1.51:99999")
    with pytest.raises(SystemExit) as stopped:
        load_settings()
    assert str(stopped.value).startswith("orderbot: configuration error: ORDERBOT_PRINTERS: ")
    assert "printer 'bar': port '99999' must be a number from 1 to 65535" in str(stopped.value)


def test_every_defined_printer_prints_without_listing_it_in_orderbot_adapters(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERBOT_PRINTERS", "kitchen=192.168.1.50; bar=192.168.1.51")
    monkeypatch.setenv("ORDERBOT_ROUTES", "Drinks = printer:bar; * = printer:kitchen")
    assert Settings().ticket_adapters() == ("printer:kitchen", "printer:bar")
    # Listed ones keep their place; the others follow.
    monkeypatch.setenv("ORDERBOT_ADAPTERS", "http, printer:bar")
    assert Settings().ticket_adapters() == ("http", "printer:bar", "printer:kitchen")
    # The single printer of ORDERBOT_PRINTER_HOST is a separate adapter, as before.
    monkeypatch.setenv("ORDERBOT_ADAPTERS", "printer, Printer : Bar")
    assert Settings().ticket_adapters() == ("printer", "printer:bar", "printer:kitchen")


def ticket(*categories: str) -> dict[str, Any]:
    return {"order": {"number": 1001},
            "lines": [{"product": f"item {i}", "category": category}
                      for i, category in enumerate(categories)]}


def test_routes_split_an_order_between_two_printers() -> None:
    routing = Settings(printers="kitchen=10.0.0.1; bar=10.0.0.2",
                       routes="Drinks = printer:bar; * = printer:kitchen").ticket_routing()
    parts = dict(split_ticket(ticket("Wraps", "Drinks", "Plates"), routing))
    assert [line["product"] for line in parts["printer:bar"]["lines"]] == ["item 1"]
    assert [line["product"] for line in parts["printer:kitchen"]["lines"]] == ["item 0", "item 2"]
    assert parts["printer:bar"]["part"] == {"lines": 1, "of": 3}


@pytest.mark.parametrize(("values", "message"), [
    ({"printers": "kitchen=10.0.0.1", "routes": "Drinks = printer:bar; * = printer:kitchen"},
     "route 'Drinks = printer:bar' sends to printer:bar: ORDERBOT_PRINTERS defines no printer "
     "'bar' (it names kitchen); add e.g. 'bar = 192.168.1.51' to it"),
    ({"routes": "Drinks = printer:bar"},
     "ORDERBOT_PRINTERS defines no printer 'bar' (it is not set)"),
    ({"printers": "kitchen=10.0.0.1", "adapters": "printer:kitchn"},
     "ORDERBOT_ADAPTERS: printer:kitchn: ORDERBOT_PRINTERS defines no printer 'kitchn' "
     "(it names kitchen)"),
    ({"printers": "kitchen=10.0.0.1", "adapters": "spool:kitchen"},
     "unknown adapter spool:kitchen; choose from display, http, printer, spool, printer:kitchen"),
])
def test_settings_refuse_a_printer_nobody_defined(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(**values)
    assert message in str(refused.value)
