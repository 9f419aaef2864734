"""`orderbot` operator commands that work on the database beside a running server: outbox,
stock, order cancel, handoff, forget and retention; db (schema migrations). Wired into the
parser by bot.cli."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.config import load_settings

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from sqlmodel.ext.asyncio.session import AsyncSession

    from bot.processing import Processor
    from catalog.catalog import Catalog
    from parsers import OrderParser


def with_database(work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[int]]) -> int:
    from adapters.db import create_tables, make_engine, session_factory
    from adapters.migrations import SchemaError

    settings = load_settings()

    async def run() -> int:
        engine = make_engine(settings.database_url)
        try:
            await create_tables(engine, migrate=settings.auto_migrate)
            return await work(session_factory(engine))
        except SchemaError as error:
            print(f"orderbot: {error}", file=sys.stderr)
            return 2
        finally:
            await engine.dispose()

    return asyncio.run(run())


def db_upgrade(_args: argparse.Namespace) -> int:
    """`orderbot db upgrade`: the schema to the newest migration, whatever ORDERBOT_AUTO_MIGRATE
    says (the command for deployments that migrate by hand)."""
    from adapters import migrations

    def upgrade(connection: Connection) -> str:
        before = migrations.upgrade(connection)
        if before.at_head:
            return f"already at {before.describe()}"
        return f"was {before.describe()}; now at revision {before.head} (the newest)"

    return _schema_command(upgrade)


def db_current(_args: argparse.Namespace) -> int:
    """`orderbot db current`: the database's schema revision; exit 1 when it is not the newest."""
    from adapters import migrations

    def current(connection: Connection) -> str:
        state = migrations.read_state(connection)
        if not state.at_head:
            raise migrations.SchemaError(state.describe()
                                         + ("" if state.unknown else "; run `orderbot db upgrade`"))
        return state.describe()

    return _schema_command(current)


def schema_problem(database_url: str) -> str | None:
    """Why `serve` must not start on this database with ORDERBOT_AUTO_MIGRATE=false, or None
    when its schema is at the newest revision."""
    from adapters.db import make_engine
    from adapters.migrations import SchemaError, check

    async def run() -> str | None:
        engine = make_engine(database_url)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(check)
            return None
        except SchemaError as error:
            return str(error)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _schema_command(work: Callable[[Connection], str]) -> int:
    from sqlalchemy.engine import make_url

    from adapters.db import make_engine
    from adapters.migrations import SchemaError

    settings = load_settings()
    where = make_url(settings.database_url).render_as_string(hide_password=True)

    async def run() -> int:
        engine = make_engine(settings.database_url)
        try:
            async with engine.begin() as connection:
                print(f"{where}: {await connection.run_sync(work)}")
            return 0
        except SchemaError as error:
            print(f"orderbot: {where}: {error}", file=sys.stderr)
            return 1
        finally:
            await engine.dispose()

    return asyncio.run(run())


def outbox_list(args: argparse.Namespace) -> int:
    from bot import outbox_admin

    async def work(sessions: async_sessionmaker[AsyncSession]) -> int:
        rows = await outbox_admin.list_rows(sessions, args.state, args.limit)
        for row in rows:
            print(outbox_admin.describe(row))
        if not rows:
            print("the outbox is empty" if args.state is None else f"no {args.state} rows")
        return 0

    return with_database(work)


def outbox_show(args: argparse.Namespace) -> int:
    from bot import outbox_admin

    async def work(sessions: async_sessionmaker[AsyncSession]) -> int:
        row = await outbox_admin.get_row(sessions, args.id)
        if row is None:
            print(f"orderbot: outbox row {args.id} does not exist", file=sys.stderr)
            return 1
        print(outbox_admin.details(row))
        return 0

    return with_database(work)


def outbox_retry(args: argparse.Namespace) -> int:
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

    return with_database(work)

def stock_command(work: Callable[[Catalog, AsyncSession], Awaitable[int]], *,
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

    return run_catalog_command(run)


def stock_list(_args: argparse.Namespace) -> int:
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

    return stock_command(work, writes=False)


def stock_change(args: argparse.Namespace) -> int:
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

    return stock_command(work, writes=True)


def stock_release(args: argparse.Namespace) -> int:
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

    return stock_command(work, writes=True)


def order_cancel(args: argparse.Namespace) -> int:
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

    return run_catalog_command(work)


def forget(args: argparse.Namespace) -> int:
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

    return with_database(work)


def retention_run(_args: argparse.Namespace) -> int:
    from bot import privacy_admin

    days = load_settings().payload_retention_days

    async def work(sessions: async_sessionmaker[AsyncSession]) -> int:
        if not days:
            print("ORDERBOT_PAYLOAD_RETENTION_DAYS is 0: payloads are kept forever.")
            return 0
        blanked = await privacy_admin.blank_old_payloads(sessions, days)
        print(f"{blanked} payload(s) older than {days:g} day(s) blanked.")
        return 0

    return with_database(work)


def handoff_processor(sessions: async_sessionmaker[AsyncSession]) -> Processor:
    """The server's processor, so a release takes the same path as the handoff timeout."""
    from bot.processing import Processor
    from bot.timers import TimerSettings
    from bot.window import Template
    from catalog.loader import load_catalog

    settings = load_settings()
    catalog = load_catalog(settings.catalog_path)
    return Processor(
        sessions, catalog=lambda: catalog, parser=lambda: order_parser(catalog),
        on_outbox=lambda: None,  # the running server's dispatcher polls the outbox
        timers=TimerSettings.minutes(settings.reminder_minutes, settings.cart_expiry_minutes,
                                     settings.handoff_timeout_minutes),
        template=(Template(settings.reminder_template, settings.template_language)
                  if settings.reminder_template else None),
    )


def order_parser(catalog: Catalog) -> OrderParser:
    from parsers import OrderParser  # slow to import, and a release never parses text

    return OrderParser(catalog)


def handoff_list(_args: argparse.Namespace) -> int:
    async def work(sessions: async_sessionmaker[AsyncSession]) -> int:
        rows = await handoff_processor(sessions).handed_off()
        if not rows:
            print("No conversation is handed off: the bot answers everyone.")
        for row in rows:
            since, due = row.timer_from, row.due_at
            last = f"last message {since:%Y-%m-%d %H:%M} UTC" if since else "no message yet"
            resumes = (f"the bot resumes at {due:%Y-%m-%d %H:%M} UTC"
                       if due and row.due_kind == "handoff_timeout" else "paused until released")
            print(f"{row.customer}  {row.name or '(no name)'}  {last}, {resumes}")
        return 0

    return run_catalog_command(work)


def handoff_release(args: argparse.Namespace) -> int:
    async def work(sessions: async_sessionmaker[AsyncSession]) -> int:
        released = await handoff_processor(sessions).release_handoff(args.wa_id)
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

    return run_catalog_command(work)


def run_catalog_command(work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[int]]
                         ) -> int:
    from catalog.errors import CatalogError

    try:
        return with_database(work)
    except CatalogError as error:
        print("orderbot: the catalog has problems:", *error.problems, sep="\n  ",
              file=sys.stderr)
        return 2



def report(args: argparse.Namespace) -> int:
    """The owner report (bot.report): a day, or the last N days, by the shop's own calendar."""
    import json
    from datetime import UTC, date, datetime
    from zoneinfo import ZoneInfo

    from adapters.report_query import read_period
    from bot import report as owner_report
    from catalog.loader import load_catalog

    if args.days < 1:
        print("orderbot: --days must be 1 or more", file=sys.stderr)
        return 2
    try:
        last = date.fromisoformat(args.date) if args.date else None
    except ValueError:
        print(f"orderbot: {args.date!r} is not a date: write it as YYYY-MM-DD", file=sys.stderr)
        return 2
    settings = load_settings()

    async def work(sessions: async_sessionmaker[AsyncSession]) -> int:
        catalog = load_catalog(settings.catalog_path)
        zone = ZoneInfo(catalog.shop.timezone)
        period = owner_report.Period.days_ending(
            last or owner_report.today(zone, datetime.now(UTC)), args.days, zone)
        orders, activity = await read_period(sessions, period)
        built = owner_report.build(period, orders, activity, catalog)
        print(json.dumps(owner_report.to_json(built), indent=2) if args.json
              else owner_report.render_text(built, catalog))
        return 0

    return run_catalog_command(work)
