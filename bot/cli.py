"""`orderbot` command line: serve, demo, emulator, chat, parse, catalog check."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from bot.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from sqlmodel.ext.asyncio.session import AsyncSession

    from bot.processing import Processor
    from catalog.catalog import Catalog
    from parsers import OrderParser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", True) else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # APScheduler logs every timer sweep (each 30 s) at INFO: noise next to real events.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        code: int = args.run(args)
    except KeyboardInterrupt:
        code = 130
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="orderbot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the webhook server")
    serve.add_argument("--host", help="overrides ORDERBOT_HOST")
    serve.add_argument("--port", type=int, help="overrides ORDERBOT_PORT")
    serve.set_defaults(run=_serve)

    demo = commands.add_parser("demo", help="server + WhatsApp emulator + kitchen printer, locally")
    demo.set_defaults(run=_demo)

    emulator = commands.add_parser("emulator", help="run the local WhatsApp Cloud API emulator")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8081)
    emulator.set_defaults(run=_emulator)

    chat = commands.add_parser("chat", help="talk to the bot as a customer, in this terminal")
    chat.add_argument("--server", default=None, help="webhook URL (default: the demo's)")
    chat.add_argument("--emulator", default=None, help="emulator URL (default: the demo's)")
    chat.add_argument("--phone", default="15550002222", help="your pretend WhatsApp number")
    chat.add_argument("--name", default="Alex Buyer", help="your pretend profile name")
    chat.set_defaults(run=_chat)

    parse = commands.add_parser("parse", help="parse order text against a catalog, print JSON")
    parse.add_argument("--catalog", required=True, type=Path)
    parse.add_argument("--jsonl", action="store_true", help="one message per stdin line")
    parse.add_argument("text", nargs="?")
    parse.set_defaults(run=_parse, verbose=False)

    catalog = commands.add_parser("catalog", help="catalog tools")
    catalog_commands = catalog.add_subparsers(dest="catalog_command", required=True)
    check = catalog_commands.add_parser("check", help="validate a catalog file")
    check.add_argument("file", type=Path)
    check.set_defaults(run=_catalog_check, verbose=False)

    handoff = commands.add_parser("handoff", help="conversations a person has taken over")
    handoff_commands = handoff.add_subparsers(dest="handoff_command", required=True)
    handoff_list = handoff_commands.add_parser("list", help="who is waiting for a person")
    handoff_list.set_defaults(run=_handoff_list, verbose=False)
    release = handoff_commands.add_parser("release", help="let the bot answer a customer again")
    release.add_argument("wa_id", help="the customer's WhatsApp number, as `handoff list` shows")
    release.set_defaults(run=_handoff_release, verbose=False)

    outbox = commands.add_parser("outbox", help="see and retry deliveries (ORDERBOT_DATABASE_URL)")
    outbox_commands = outbox.add_subparsers(dest="outbox_command", required=True)
    listing = outbox_commands.add_parser("list", help="latest rows, newest first")
    listing.add_argument("--state", choices=("pending", "dead", "sent"), default=None)
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(run=_outbox_list, verbose=False)
    show = outbox_commands.add_parser("show", help="one row with its payload and last error")
    show.add_argument("id", type=int)
    show.set_defaults(run=_outbox_show, verbose=False)
    again = outbox_commands.add_parser("retry", help="send dead rows again")
    again.add_argument("ids", type=int, nargs="*", help="outbox row ids")
    again.add_argument("--all-dead", action="store_true", help="every dead row")
    again.set_defaults(run=_outbox_retry, verbose=False)

    for add_commands in (_add_stock_commands, _add_order_commands, _add_privacy_commands):
        add_commands(commands)
    return parser


def _add_privacy_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    forget = commands.add_parser(
        "forget", help="delete a customer's personal data (orders stay, anonymised)")
    forget.add_argument("wa_id", help="the customer's WhatsApp number")
    forget.add_argument("--yes", action="store_true", help="confirm: this cannot be undone")
    forget.set_defaults(run=_forget, verbose=False)
    retention = commands.add_parser("retention", help="stored webhook payloads")
    retention_commands = retention.add_subparsers(dest="retention_command", required=True)
    run = retention_commands.add_parser(
        "run", help="blank payloads older than ORDERBOT_PAYLOAD_RETENTION_DAYS now")
    run.set_defaults(run=_retention_run, verbose=False)


def _add_order_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    order = commands.add_parser("order", help="confirmed orders (ORDERBOT_DATABASE_URL)")
    order_commands = order.add_subparsers(dest="order_command", required=True)
    cancel = order_commands.add_parser(
        "cancel", help="cancel a new or preparing order: stock back, the customer told")
    cancel.add_argument("number", help="the order number, e.g. 1001 or #1001")
    cancel.add_argument("--reason", default=None, help="told to the customer, e.g. "
                        "'we ran out of falafel'")
    cancel.set_defaults(run=_order_cancel, verbose=False)


def _add_stock_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    stock = commands.add_parser("stock", help="stock counts (ORDERBOT_DATABASE_URL)")
    stock_commands = stock.add_subparsers(dest="stock_command", required=True)
    stock_list = stock_commands.add_parser("list", help="what is left of each counted item")
    stock_list.set_defaults(run=_stock_list, verbose=False)
    for name, helptext in (("set", "count it as N (a restock or a recount)"),
                           ("add", "add N (negative to take away)")):
        change = stock_commands.add_parser(name, help=helptext)
        change.add_argument("item", help="PRODUCT or PRODUCT:VARIANT (catalog ids)")
        change.add_argument("units", type=int, help="N")
        change.set_defaults(run=_stock_change, verbose=False)
    give_back = stock_commands.add_parser("release", help="return a cancelled order's units")
    give_back.add_argument("order", type=int, help="the order number, e.g. 1001")
    give_back.set_defaults(run=_stock_release, verbose=False)


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                             for e in error.errors(include_input=False))
        raise SystemExit(f"orderbot: configuration error: {problems}") from None


def _serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from bot.app import create_app
    from bot.texts import TextsError
    from catalog.errors import CatalogError

    settings = load_settings()
    missing = settings.missing_for_serve()
    if missing:
        print(f"orderbot: cannot start: set {', '.join(missing)} (environment variable or "
              "orderbot.toml). For a local try-out without WhatsApp, run `make demo`.",
              file=sys.stderr)
        return 2
    try:
        app = create_app(settings)
    except CatalogError as error:
        print(f"orderbot: cannot start: the catalog {settings.catalog_path} has problems:",
              file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except TextsError as error:
        print(f"orderbot: cannot start: {error}", file=sys.stderr)
        return 2
    # Work acknowledged but unfinished at shutdown is picked up again on the next start, so a
    # short grace period is enough.
    web.run_app(app, host=args.host or settings.host, port=args.port or settings.port,
                print=None, shutdown_timeout=5.0)
    return 0


def _demo(_args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    asyncio.run(run_demo())
    return 0


def _emulator(args: argparse.Namespace) -> int:
    from adapters.whatsapp_emulator import run_emulator

    settings = load_settings()

    async def forever() -> None:
        runner = await run_emulator(args.host, args.port, settings.secret("access_token") or None,
                                    settings.phone_number_id)
        print(f"WhatsApp Cloud API emulator on http://{args.host}:{args.port}")
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    asyncio.run(forever())
    return 0


def _chat(args: argparse.Namespace) -> int:
    from bot.chat import run_chat

    return asyncio.run(run_chat(load_settings(), args.server, args.emulator, args.phone,
                                args.name))


def _parse(args: argparse.Namespace) -> int:
    from catalog.errors import CatalogError
    from catalog.loader import load_catalog
    from parsers import OrderParser

    try:
        parser = OrderParser(load_catalog(args.catalog))
    except CatalogError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 1
    if args.jsonl:
        for line in sys.stdin:
            print(json.dumps(parser.parse(line.rstrip("\n")).to_json(), ensure_ascii=False),
                  flush=True)
        return 0
    if args.text is None:
        print("orderbot parse: give the TEXT to parse, or --jsonl to read stdin", file=sys.stderr)
        return 2
    print(json.dumps(parser.parse(args.text).to_json(), ensure_ascii=False))
    return 0


def _catalog_check(args: argparse.Namespace) -> int:
    from catalog.check import check_catalog_file

    code, report = check_catalog_file(args.file)
    print(report)
    return code



def _with_database(work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[int]]) -> int:
    from adapters.db import create_tables, make_engine, session_factory

    settings = load_settings()

    async def run() -> int:
        engine = make_engine(settings.database_url)
        try:
            await create_tables(engine)
            return await work(session_factory(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _outbox_list(args: argparse.Namespace) -> int:
    from bot import outbox_admin

    async def work(sessions: async_sessionmaker[AsyncSession]) -> int:
        rows = await outbox_admin.list_rows(sessions, args.state, args.limit)
        for row in rows:
            print(outbox_admin.describe(row))
        if not rows:
            print("the outbox is empty" if args.state is None else f"no {args.state} rows")
        return 0

    return _with_database(work)


def _outbox_show(args: argparse.Namespace) -> int:
    from bot import outbox_admin

    async def work(sessions: async_sessionmaker[AsyncSession]) -> int:
        row = await outbox_admin.get_row(sessions, args.id)
        if row is None:
            print(f"orderbot: outbox row {args.id} does not exist", file=sys.stderr)
            return 1
        print(outbox_admin.details(row))
        return 0

    return _with_database(work)


def _outbox_retry(args: argparse.Namespace) -> int:
    from bot import outbox_admin

    if bool(args.ids) == args.all_dead:
        print("orderbot: give outbox row ids or --all-dead (not both)", file=sys.stderr)
        return 2

    async def work(sessions: async_sessionmaker[AsyncSession]) -> int:
        retried, problems = await outbox_admin.retry(sessions, None if args.all_dead else args.ids)
        for problem in problems:
            print(f"orderbot: {problem}", file=sys.stderr)
        print(f"{len(retried)} row(s) pending again: "
              f"{', '.join(f'#{row_id}' for row_id in retried) or 'none'}"
              " (a running server delivers them within a few seconds)")
        return 1 if problems else 0

    return _with_database(work)

def _stock_command(work: Callable[[Catalog, AsyncSession], Awaitable[int]], *,
                   writes: bool) -> int:
    """Run one stock command in one transaction, beside a running server (the database is the
    only thing shared). The counts first follow the catalog, as the server's would."""
    from adapters.inventory import Inventory
    from catalog.loader import load_catalog

    settings = load_settings()
    catalog = load_catalog(settings.catalog_path)
    inventory = Inventory(sheet=writes and settings.stock_sheet is not None)

    async def run(sessions: async_sessionmaker[AsyncSession]) -> int:
        await inventory.sync(sessions, catalog)
        async with sessions() as session, session.begin():
            return await work(catalog, session)

    return _run_catalog_command(run)


def _stock_list(_args: argparse.Namespace) -> int:
    from adapters.inventory import Inventory
    from bot import inventory as rules

    async def work(catalog: Catalog, session: AsyncSession) -> int:
        lines = await Inventory().lines(session)
        if not lines:
            print("Nothing is counted: no product has `stock:` in the catalog, and none was set "
                  "with `orderbot stock set`. Everything can be ordered.")
            return 0
        print(f"{'ITEM':<32} {'LEFT':>6} {'ALERT AT':>8}  NOTE")
        for line in lines:
            product = catalog.product(line.key[0])
            low = product.low_stock_at if product is not None else None
            notes = ["SOLD OUT" if line.units <= 0
                     else "low" if line.units <= rules.threshold(low) else ""]
            if product is None:
                notes.append("not in the catalog")
            if line.seeded is None:
                notes.append("set by hand")
            print(f"{rules.key_text(line.key):<32} {line.units:>6} "
                  f"{'-' if low is None else low:>8}  {', '.join(n for n in notes if n)}")
        return 0

    return _stock_command(work, writes=False)


def _stock_change(args: argparse.Namespace) -> int:
    from adapters.inventory import Inventory
    from bot import inventory as rules

    setting = args.stock_command == "set"
    if setting and args.units < 0:
        print("orderbot: a count cannot be negative", file=sys.stderr)
        return 2
    settings = load_settings()
    inventory = Inventory(sheet=settings.stock_sheet is not None)

    async def work(catalog: Catalog, session: AsyncSession) -> int:
        try:
            key = rules.parse_key(args.item, catalog)
        except rules.StockKeyError as error:
            print(f"orderbot: {error}", file=sys.stderr)
            return 1
        item = rules.key_text(key)
        if setting:
            before = await inventory.set_units(session, key, args.units, catalog)
            was = "not counted" if before is None else str(before)
            print(f"{item}: {was} -> {args.units} (a running server uses it at once)")
            return 0
        after = await inventory.add_units(session, key, args.units, catalog)
        if after is not None:
            print(f"{item}: {after - args.units} -> {after} (a running server uses it at once)")
            return 0
        lines = {line.key: line.units for line in await inventory.lines(session)}
        if key not in lines:
            print(f"orderbot: {item} is not counted (unlimited); start counting it with "
                  f"`orderbot stock set {item} N`", file=sys.stderr)
        else:
            print(f"orderbot: {item} has only {lines[key]} left; cannot take away "
                  f"{-args.units}", file=sys.stderr)
        return 1

    return _stock_command(work, writes=True)


def _stock_release(args: argparse.Namespace) -> int:
    from sqlmodel import col, select

    from adapters.db import OrderRow
    from adapters.inventory import Inventory
    from bot import inventory as rules

    settings = load_settings()
    inventory = Inventory(sheet=settings.stock_sheet is not None)

    async def work(catalog: Catalog, session: AsyncSession) -> int:
        order = (await session.exec(select(OrderRow).where(col(OrderRow.number) == args.order))
                 ).first()
        if order is None:
            print(f"orderbot: there is no order #{args.order}", file=sys.stderr)
            return 1
        returned = await inventory.release(session, order.source_wamid, catalog)
        if not returned:
            print(f"Order #{args.order} holds no stock (nothing counted, or already returned).")
            return 0
        print(f"Returned to stock from order #{args.order}: " + ", ".join(
            f"{units} × {rules.key_text(key)}" for key, units in returned))
        return 0

    return _stock_command(work, writes=True)


def _order_cancel(args: argparse.Namespace) -> int:
    """The server's own status service and transaction: the stock comes back, the customer's
    message is queued for the running server's dispatcher, and its screens are refreshed."""
    from adapters.inventory import Inventory
    from bot import inventory as rules
    from bot.api import OrderStatusService, UnknownOrder
    from bot.clock import Clock
    from bot.order_status import CANCELLED, TransitionError, clean_reason
    from bot.window import Template
    from catalog.loader import load_catalog

    try:
        number = int(str(args.number).lstrip("#"))
    except ValueError:
        print(f"orderbot: {args.number!r} is not an order number (e.g. 1001)", file=sys.stderr)
        return 2
    try:
        reason = clean_reason(args.reason)
    except ValueError as error:
        print(f"orderbot: {error}", file=sys.stderr)
        return 2
    settings = load_settings()

    async def work(sessions: async_sessionmaker[AsyncSession]) -> int:
        catalog = load_catalog(settings.catalog_path)
        service = OrderStatusService(
            sessions, shop_name=lambda: catalog.shop.name, clock=Clock(),
            template=(Template(settings.reminder_template, settings.template_language)
                      if settings.reminder_template else None),
            on_outbox=lambda: None,  # the running server's dispatcher polls the outbox
            inventory=Inventory(sheet=settings.stock_sheet is not None),
            catalog=lambda: catalog,
            refresh_display="display" in settings.ticket_routing().adapters)
        try:
            change = await service.change(number, CANCELLED, reason)
        except UnknownOrder:
            print(f"orderbot: there is no order #{number}", file=sys.stderr)
            return 1
        except TransitionError as error:
            print(f"orderbot: order #{number} was not cancelled: {error}", file=sys.stderr)
            return 1
        if not change.transition.changed:
            print(f"Order #{number} was already cancelled; nothing changed.")
            return 0
        returned = ", ".join(f"{units} × {rules.key_text(key)}" for key, units in change.returned)
        told = {
            "session": "the customer is told (a running server sends it within seconds)",
            "template": "WhatsApp's 24-hour window is closed, so the customer gets the "
                        "ORDERBOT_REMINDER_TEMPLATE template instead",
            "dropped": "the customer is not told: WhatsApp's 24-hour window is closed and "
                       "ORDERBOT_REMINDER_TEMPLATE is not set",
            None: "the customer had been told already",
        }[change.told]
        print(f"Cancelled order #{number} (it was {change.transition.before}); "
              f"{f'returned to stock: {returned}' if returned else 'no stock to return'}; "
              f"{told}.")
        return 0

    return _run_catalog_command(work)


def _forget(args: argparse.Namespace) -> int:
    from bot import privacy_admin

    if not args.yes:
        if not sys.stdin.isatty():
            print(f"orderbot: forgetting {args.wa_id} cannot be undone; add --yes to confirm",
                  file=sys.stderr)
            return 2
        answer = input(f"Delete the personal data of {args.wa_id}? This cannot be undone. "
                       "Type yes: ")
        if answer.strip().lower() != "yes":
            print("orderbot: nothing changed", file=sys.stderr)
            return 2
    settings = load_settings()

    async def work(sessions: async_sessionmaker[AsyncSession]) -> int:
        done = await privacy_admin.forget(sessions, args.wa_id,
                                          sheet=settings.stock_sheet is not None)
        if done is None:
            print(f"orderbot: nothing is stored about WhatsApp number {args.wa_id}",
                  file=sys.stderr)
            return 1
        print(done.summary())
        return 0

    return _with_database(work)


def _retention_run(_args: argparse.Namespace) -> int:
    from bot import privacy_admin

    days = load_settings().payload_retention_days

    async def work(sessions: async_sessionmaker[AsyncSession]) -> int:
        if not days:
            print("ORDERBOT_PAYLOAD_RETENTION_DAYS is 0: payloads are kept forever.")
            return 0
        blanked = await privacy_admin.blank_old_payloads(sessions, days)
        print(f"{blanked} payload(s) older than {days:g} day(s) blanked.")
        return 0

    return _with_database(work)


def _handoff_processor(sessions: async_sessionmaker[AsyncSession]) -> Processor:
    """The server's processor, so a release takes the same path as the handoff timeout."""
    from bot.processing import Processor
    from bot.timers import TimerSettings
    from bot.window import Template
    from catalog.loader import load_catalog

    settings = load_settings()
    catalog = load_catalog(settings.catalog_path)
    return Processor(
        sessions, catalog=lambda: catalog, parser=lambda: _order_parser(catalog),
        on_outbox=lambda: None,  # the running server's dispatcher polls the outbox
        timers=TimerSettings.minutes(settings.reminder_minutes, settings.cart_expiry_minutes,
                                     settings.handoff_timeout_minutes),
        template=(Template(settings.reminder_template, settings.template_language)
                  if settings.reminder_template else None),
    )


def _order_parser(catalog: Catalog) -> OrderParser:
    from parsers import OrderParser  # slow to import, and a release never parses text

    return OrderParser(catalog)


def _handoff_list(_args: argparse.Namespace) -> int:
    async def work(sessions: async_sessionmaker[AsyncSession]) -> int:
        rows = await _handoff_processor(sessions).handed_off()
        if not rows:
            print("No conversation is handed off: the bot answers everyone.")
        for row in rows:
            since, due = row.timer_from, row.due_at
            last = f"last message {since:%Y-%m-%d %H:%M} UTC" if since else "no message yet"
            resumes = (f"the bot resumes at {due:%Y-%m-%d %H:%M} UTC"
                       if due and row.due_kind == "handoff_timeout" else "paused until released")
            print(f"{row.customer}  {row.name or '(no name)'}  {last}, {resumes}")
        return 0

    return _run_catalog_command(work)


def _handoff_release(args: argparse.Namespace) -> int:
    async def work(sessions: async_sessionmaker[AsyncSession]) -> int:
        released = await _handoff_processor(sessions).release_handoff(args.wa_id)
        if released is None:
            print(f"orderbot: no conversation with WhatsApp number {args.wa_id} (see "
                  "`orderbot handoff list`)", file=sys.stderr)
            return 1
        who = f"{released.customer} ({released.name or 'no name'})"
        if not released.was_paused:
            print(f"{who} was not handed off; nothing changed.")
            return 0
        told = {
            "session": "told them the bot is back (a running server sends it within seconds)",
            "template": "WhatsApp's 24-hour window is closed, so they get the "
                        "ORDERBOT_REMINDER_TEMPLATE template instead",
            "dropped": "not told: WhatsApp's 24-hour window is closed and "
                       "ORDERBOT_REMINDER_TEMPLATE is not set",
        }[released.delivery]
        print(f"Released {who}: the bot answers them again; {told}.")
        return 0

    return _run_catalog_command(work)


def _run_catalog_command(work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[int]]
                         ) -> int:
    from catalog.errors import CatalogError

    try:
        return _with_database(work)
    except CatalogError as error:
        print("orderbot: the catalog has problems:", *error.problems, sep="\n  ",
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
