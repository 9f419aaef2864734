"""Ticket adapters: where a confirmed order's ticket goes (HTTP, printer, spool folder, display).

An adapter is any object with a `name` and

    async def deliver(self, ticket: dict, key: str) -> str

that returns a short receipt ("HTTP 200", "printed 412 bytes") and raises
`adapters.delivery.DeliveryError(..., retryable=True|False)` when it fails. The outbox
dispatcher gives it ordering, retries with backoff and dead letters: at confirmation one outbox
row per adapter is written (kind and lane = the adapter's name, key =
`order-<number>:<name>`), and an adapter receives its tickets strictly in order of confirmation.
The same key may arrive twice (a crash between delivering and recording it): an adapter should
make a repeat harmless where it can (the spool skips a ticket it already wrote).

Adding an adapter is one line in FACTORIES below (a "module:function" path is imported only
when the adapter is configured, so an adapter's dependencies stay optional):

    "label": "adapters.label_printer:build_adapter",

where the function takes an AdapterContext and returns the adapter; or `register("label",
factory)` before the settings are loaded (they refuse names nobody registered). Shops then list
the name in ORDERBOT_ADAPTERS and may route categories to it (bot.routing). A factory reads
its own settings from `context.settings`; the context also offers the shared HTTP session
(only once the app runs), the database sessions, the clock and the aiohttp app (to add routes).

A kind of adapter a shop may configure several of is named `<kind>:<name>` ("printer:bar",
one per ORDERBOT_PRINTERS entry): NAMED_FACTORIES builds it from the context and the name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    import aiohttp
    from aiohttp import web
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from sqlmodel.ext.asyncio.session import AsyncSession

    from bot.clock import Clock
    from bot.config import Settings


class TicketAdapter(Protocol):
    name: str

    async def deliver(self, ticket: dict[str, Any], key: str) -> str: ...


@dataclass(frozen=True)
class AdapterContext:
    settings: Settings
    http: Callable[[], aiohttp.ClientSession]  # raises before the app has started
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    app: web.Application


AdapterFactory = Callable[[AdapterContext], TicketAdapter]
NamedAdapterFactory = Callable[[AdapterContext, str], TicketAdapter]

FACTORIES: dict[str, str | AdapterFactory] = {
    "http": "adapters.ticket_http:build_adapter",
    "printer": "adapters.printer:build_adapter",
    "spool": "adapters.spool:build_adapter",
    "display": "adapters.kitchen_display:build_adapter",
}


# "<kind>:<name>" adapters; the settings check that the name is defined (bot.config).
NAMED_FACTORIES: dict[str, str | NamedAdapterFactory] = {
    "printer": "adapters.printer:build_named_adapter",
}


def register(name: str, factory: str | AdapterFactory) -> None:
    FACTORIES[name] = factory


def known_adapters() -> list[str]:
    return sorted(FACTORIES)


def build_adapters(names: Sequence[str], context: AdapterContext) -> list[TicketAdapter]:
    """The configured adapters, in order; an unknown name raises KeyError naming the choices."""
    adapters = []
    for name in names:
        kind, colon, instance = name.partition(":")
        if colon and kind in NAMED_FACTORIES:
            adapters.append(_factory(NAMED_FACTORIES[kind])(context, instance))
        elif name in FACTORIES:
            adapters.append(_factory(FACTORIES[name])(context))
        else:
            raise KeyError(f"unknown ticket adapter {name!r}; known: "
                           f"{', '.join(known_adapters())}")
    return adapters


_Factory = TypeVar("_Factory", AdapterFactory, NamedAdapterFactory)


def _factory(factory: str | _Factory) -> _Factory:
    if not isinstance(factory, str):
        return factory
    module, _, function = factory.partition(":")
    built: _Factory = getattr(importlib.import_module(module), function)
    return built
