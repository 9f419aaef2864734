"""`orderbot` command line: serve, demo, emulator, chat, parse, catalog check.

The database commands for operators (outbox, stock, order, handoff, forget, retention) live in
bot.cli_operator."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot import cli_operator as ops
from bot.config import load_log_settings, load_settings
from bot.logs import setup_logging

if TYPE_CHECKING:

    pass


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    chosen = load_log_settings()
    # JSON lines for the server (log collectors read them); text for a person at a terminal.
    setup_logging(chosen.log_format or ("json" if args.command == "serve" else "text"),
                  chosen.log_level or (logging.INFO if getattr(args, "verbose", True)
                                       else logging.WARNING))
    try:
        code: int = args.run(args)
    except KeyboardInterrupt:
        code = 130
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="orderbot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    _add_serve_command(commands)

    demo = commands.add_parser("demo", help="server + WhatsApp emulator + kitchen printer, locally")
    demo.set_defaults(run=_demo)

    emulator = commands.add_parser("emulator", help="run the local WhatsApp Cloud API emulator")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8081)
    emulator.add_argument(
        "--webhook-url", default=os.environ.get("ORDERBOT_EMULATOR_WEBHOOK_URL") or None,
        help="post signed status webhooks (sent, delivered) for every accepted message to this "
             "URL, e.g. http://127.0.0.1:8080/webhook (env ORDERBOT_EMULATOR_WEBHOOK_URL)")
    emulator.add_argument(
        "--app-secret", default=None,
        help="app secret the status webhooks are signed with (default: WHATSAPP_APP_SECRET)")
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
    handoff_list.set_defaults(run=ops.handoff_list, verbose=False)
    release = handoff_commands.add_parser("release", help="let the bot answer a customer again")
    release.add_argument("wa_id", help="the customer's WhatsApp number, as `handoff list` shows")
    release.set_defaults(run=ops.handoff_release, verbose=False)

    outbox = commands.add_parser("outbox", help="see and retry deliveries (ORDERBOT_DATABASE_URL)")
    outbox_commands = outbox.add_subparsers(dest="outbox_command", required=True)
    listing = outbox_commands.add_parser("list", help="latest rows, newest first")
    listing.add_argument("--state", choices=("pending", "dead", "sent"), default=None)
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(run=ops.outbox_list, verbose=False)
    show = outbox_commands.add_parser("show", help="one row with its payload and last error")
    show.add_argument("id", type=int)
    show.set_defaults(run=ops.outbox_show, verbose=False)
    again = outbox_commands.add_parser("retry", help="send dead rows again")
    again.add_argument("ids", type=int, nargs="*", help="outbox row ids")
    again.add_argument("--all-dead", action="store_true", help="every dead row")
    again.set_defaults(run=ops.outbox_retry, verbose=False)

    for add_commands in (_add_stock_commands, _add_order_commands, _add_privacy_commands):
        add_commands(commands)
    _add_report_command(commands)
    _add_db_commands(commands)
    return parser


def _add_db_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    database = commands.add_parser("db", help="the database schema (ORDERBOT_DATABASE_URL)")
    db_commands = database.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="migrate the schema to the newest revision")
    upgrade.set_defaults(run=ops.db_upgrade, verbose=True)
    current = db_commands.add_parser("current", help="the schema's revision (exit 1: not newest)")
    current.set_defaults(run=ops.db_current, verbose=False)


def _add_serve_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser("serve", help="run the webhook server")
    serve.add_argument("--host", help="overrides ORDERBOT_HOST")
    serve.add_argument("--port", type=int, help="overrides ORDERBOT_PORT")
    serve.add_argument("--workers", type=int, default=1, metavar="N",
                       help="N server processes sharing the port (Linux; PostgreSQL advised; "
                            "default 1)")
    # Set by the --workers supervisor on the processes it starts (bot.workers).
    serve.add_argument("--worker-number", type=int, help=argparse.SUPPRESS)
    serve.add_argument("--worker-channel", type=int, help=argparse.SUPPRESS)
    serve.set_defaults(run=_serve)


def _add_report_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    owner = commands.add_parser(
        "report", help="today's orders, revenue, top items and problems, for the shop owner")
    owner.add_argument("--date", default=None,
                       help="the day YYYY-MM-DD, by the shop's timezone (default: today)")
    owner.add_argument("--days", type=int, default=1,
                       help="N days ending on that day (default: 1)")
    owner.add_argument("--json", action="store_true", help="print JSON for scripts")
    owner.set_defaults(run=ops.report, verbose=False)


def _add_privacy_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    forget = commands.add_parser(
        "forget", help="delete a customer's personal data (orders stay, anonymised)")
    forget.add_argument("wa_id", help="the customer's WhatsApp number")
    forget.add_argument("--yes", action="store_true", help="confirm: this cannot be undone")
    forget.set_defaults(run=ops.forget, verbose=False)
    retention = commands.add_parser("retention", help="stored webhook payloads")
    retention_commands = retention.add_subparsers(dest="retention_command", required=True)
    run = retention_commands.add_parser(
        "run", help="blank payloads older than ORDERBOT_PAYLOAD_RETENTION_DAYS now")
    run.set_defaults(run=ops.retention_run, verbose=False)


def _add_order_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    order = commands.add_parser("order", help="confirmed orders (ORDERBOT_DATABASE_URL)")
    order_commands = order.add_subparsers(dest="order_command", required=True)
    cancel = order_commands.add_parser(
        "cancel", help="cancel a new or preparing order: stock back, the customer told")
    cancel.add_argument("number", help="the order number, e.g. 1001 or #1001")
    cancel.add_argument("--reason", default=None, help="told to the customer, e.g. "
                        "'we ran out of falafel'")
    cancel.set_defaults(run=ops.order_cancel, verbose=False)


def _add_stock_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    stock = commands.add_parser("stock", help="stock counts (ORDERBOT_DATABASE_URL)")
    stock_commands = stock.add_subparsers(dest="stock_command", required=True)
    stock_list = stock_commands.add_parser("list", help="what is left of each counted item")
    stock_list.set_defaults(run=ops.stock_list, verbose=False)
    for name, helptext in (("set", "count it as N (a restock or a recount)"),
                           ("add", "add N (negative to take away)")):
        change = stock_commands.add_parser(name, help=helptext)
        change.add_argument("item", help="PRODUCT or PRODUCT:VARIANT (catalog ids)")
        change.add_argument("units", type=int, help="N")
        change.set_defaults(run=ops.stock_change, verbose=False)
    give_back = stock_commands.add_parser("release", help="return a cancelled order's units")
    give_back.add_argument("order", type=int, help="the order number, e.g. 1001")
    give_back.set_defaults(run=ops.stock_release, verbose=False)


def _serve(args: argparse.Namespace) -> int:
    settings = load_settings()
    missing = settings.missing_for_serve()
    if missing:
        print(f"orderbot: cannot start: set {', '.join(missing)} (environment variable or "
              "orderbot.toml). For a local try-out without WhatsApp, run `make demo`.",
              file=sys.stderr)
        return 2
    behind = None if settings.auto_migrate else ops.schema_problem(settings.database_url)
    if behind:
        print(f"orderbot: cannot start: {behind}", file=sys.stderr)
        return 2
    host, port = args.host or settings.host, args.port or settings.port
    if args.workers < 1:
        print("orderbot: --workers must be 1 or more", file=sys.stderr)
        return 2
    if args.workers > 1 and args.worker_channel is None:
        return _supervise(args.workers, host, port, settings.database_url)
    # Only now: the supervisor above needs none of it, and it takes seconds to import.
    from aiohttp import web

    from bot.app import create_app, freeze_startup_objects
    from bot.texts import TextsError
    from bot.webhook import QuietAccessLogger
    from catalog.errors import CatalogError

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
    app.on_startup.append(freeze_startup_objects)
    if args.worker_channel is not None:
        from bot.workers import serve_as_worker

        serve_as_worker(app, host, port, args.worker_number or 0, args.worker_channel)
        return 0
    # Work acknowledged but unfinished at shutdown is picked up again on the next start, so a
    # short grace period is enough.
    web.run_app(app, host=host, port=port, print=None, shutdown_timeout=5.0,
                access_log_class=QuietAccessLogger)
    return 0


def _supervise(workers: int, host: str, port: int, database_url: str) -> int:
    from bot.workers import WorkerPlan, port_problem, sqlite_warning, supervise

    problem = port_problem(host, port)
    if problem:
        print(f"orderbot: cannot start: {problem}", file=sys.stderr)
        return 2
    warning = sqlite_warning(database_url, workers)
    if warning:
        logging.getLogger("orderbot.workers").warning(warning)
    return supervise(WorkerPlan(workers=workers, host=host, port=port))


def _demo(_args: argparse.Namespace) -> int:
    from bot.demo import PortTaken, run_demo

    try:
        asyncio.run(run_demo())
    except PortTaken as error:
        print(f"orderbot demo: {error}", file=sys.stderr)
        return 2
    return 0


def _emulator(args: argparse.Namespace) -> int:
    from adapters.whatsapp_emulator import StatusWebhook, run_emulator

    settings = load_settings()
    hook = None
    if args.webhook_url:
        secret = args.app_secret or settings.secret("app_secret")
        if not secret:
            print("orderbot emulator: --webhook-url needs --app-secret or WHATSAPP_APP_SECRET "
                  "(the server refuses unsigned webhooks)", file=sys.stderr)
            return 2
        hook = StatusWebhook(args.webhook_url, secret)

    async def forever() -> None:
        runner = await run_emulator(args.host, args.port, settings.secret("access_token") or None,
                                    settings.phone_number_id, hook)
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



if __name__ == "__main__":
    sys.exit(main())
