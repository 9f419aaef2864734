"""Routes: which adapter gets which lines of an order, as a shop owner writes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.config import Settings
from bot.routing import RoutesError, Routing, parse_adapter_names, split_ticket


def ticket(*categories: str) -> dict[str, Any]:
    return {"order": {"number": 1001}, "total": "10.00",
            "lines": [{"product": f"item {i}", "category": category, "quantity": 1}
                      for i, category in enumerate(categories)]}


def products(part: dict[str, Any]) -> list[str]:
    return [line["product"] for line in part["lines"]]


def test_without_routes_every_adapter_gets_the_whole_order() -> None:
    routing = Routing.parse(("http", "printer"), None)
    parts = split_ticket(ticket("Wraps", "Drinks"), routing)
    assert [name for name, _ in parts] == ["http", "printer"]
    assert all(products(part) == ["item 0", "item 1"] and part["part"] is None
               for _, part in parts)


def test_a_category_goes_to_its_station_and_star_takes_the_rest() -> None:
    routing = Routing.parse(("http", "printer"), "Drinks = printer; * = http")
    parts = dict(split_ticket(ticket("Wraps", "Drinks", "Plates", "drinks "), routing))
    assert products(parts["printer"]) == ["item 1", "item 3"]  # case and spaces ignored
    assert products(parts["http"]) == ["item 0", "item 2"]
    assert parts["printer"]["part"] == {"lines": 2, "of": 4}
    assert parts["http"]["total"] == "10.00"  # the rest of the ticket is unchanged


def test_an_adapter_with_no_lines_gets_no_ticket() -> None:
    routing = Routing.parse(("http", "printer"), "Drinks=printer;*=http")
    assert [name for name, _ in split_ticket(ticket("Wraps"), routing)] == ["http"]


def test_an_unmentioned_adapter_sees_every_line() -> None:
    routing = Routing.parse(("http", "printer", "display"), "Drinks=printer;*=http")
    parts = dict(split_ticket(ticket("Wraps", "Drinks"), routing))
    assert products(parts["display"]) == ["item 0", "item 1"]
    assert parts["display"]["part"] is None


def test_several_categories_and_several_adapters_in_one_rule() -> None:
    routing = Routing.parse(("bar", "http", "spool"), "Drinks, Hot Drinks = bar, spool; *=http")
    assert routing.targets("hot  drinks") == ("bar", "spool")
    assert routing.targets("Wraps") == ("http",)


def test_without_a_star_rule_no_line_is_ever_dropped() -> None:
    # Every adapter is named, and "Desserts" matches no rule: it goes to all of them.
    routing = Routing.parse(("http", "printer"), "Drinks=printer; Wraps=http")
    assert routing.targets("Desserts") == ("http", "printer")
    # With an unnamed adapter, the unmatched lines go there.
    routing = Routing.parse(("http", "printer", "spool"), "Drinks=printer")
    assert routing.targets("Desserts") == ("http", "spool")
    assert routing.targets("Drinks") == ("http", "printer", "spool")


@pytest.mark.parametrize(("routes", "message"), [
    ("Drinks", "has no '='"),
    ("Drinks=", "names no adapter"),
    ("Drinks=bar", "sends to bar, which is not in ORDERBOT_ADAPTERS (http, printer)"),
    ("=printer", "empty category"),
    ("Drinks=printer; drinks=http", "routed twice"),
    ("Drinks=print er", "not an adapter name"),
])
def test_mistakes_are_named(routes: str, message: str) -> None:
    with pytest.raises(RoutesError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Routing.parse(("http", "printer"), routes)


def test_adapter_list_is_lower_cased_deduplicated_and_ordered() -> None:
    assert parse_adapter_names(" HTTP, printer,,http , spool") == ("http", "printer", "spool")


def test_categories_the_menu_lacks_are_reported() -> None:
    routing = Routing.parse(("http", "printer"), "Drinkz=printer; Wraps=http; *=http")
    assert routing.unknown_categories(["Wraps", "Drinks"]) == ["drinkz"]


# The settings a shop writes (ORDERBOT_ADAPTERS / ORDERBOT_ROUTES), checked at start-up.

@pytest.fixture(autouse=True)
def no_outside_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("ORDERBOT_ADAPTERS", "ORDERBOT_ROUTES", "ORDERBOT_KITCHEN_WEBHOOK_URL",
                 "ORDERBOT_PRINTER_HOST", "ORDERBOT_SPOOL_DIR", "ORDERBOT_KITCHEN_DISPLAY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no orderbot.toml from the working folder


def test_without_orderbot_adapters_the_webhook_url_alone_means_http() -> None:
    assert Settings(kitchen_webhook_url="http://k/t").ticket_adapters() == ("http",)
    assert Settings(kitchen_webhook_url=None).ticket_adapters() == ()
    assert Settings(adapters="spool, printer").ticket_adapters() == ("spool", "printer")


def test_serve_names_what_each_configured_adapter_still_needs() -> None:
    missing = Settings(adapters="http,printer,spool", app_secret="a", verify_token="v",
                       access_token="t", phone_number_id="1").missing_for_serve()
    assert missing == ["ORDERBOT_KITCHEN_WEBHOOK_URL", "ORDERBOT_PRINTER_HOST",
                       "ORDERBOT_SPOOL_DIR"]


@pytest.mark.parametrize(("values", "message"), [
    ({"adapters": "http, fax"}, "unknown adapter fax; choose from"),
    ({"adapters": "http", "routes": "Drinks = printer"}, "not in ORDERBOT_ADAPTERS"),
    ({"adapters": "http", "printer_width": 12}, "printer_width"),
])
def test_settings_refuse_adapters_and_routes_that_cannot_work(
    values: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**values)
