"""`orderbot` operator commands that work on the database beside a running server: outbox,
stock, order cancel, handoff, forget and retention, report; db (schema migrations). Wired into
the parser by bot.cli, which reaches them through this module; each group lives in its own
bot.cli_* module."""

from __future__ import annotations

from bot.cli_database import run_catalog_command, with_database
from bot.cli_handoff import handoff_list, handoff_processor, handoff_release, order_parser
from bot.cli_order import order_cancel
from bot.cli_outbox import outbox_list, outbox_retry, outbox_show
from bot.cli_privacy import forget, retention_run
from bot.cli_report import report
from bot.cli_schema import db_current, db_upgrade, schema_problem
from bot.cli_stock import stock_change, stock_command, stock_list, stock_release

__all__ = [
    "db_current",
    "db_upgrade",
    "forget",
    "handoff_list",
    "handoff_processor",
    "handoff_release",
    "order_cancel",
    "order_parser",
    "outbox_list",
    "outbox_retry",
    "outbox_show",
    "report",
    "retention_run",
    "run_catalog_command",
    "schema_problem",
    "stock_change",
    "stock_command",
    "stock_list",
    "stock_release",
    "with_database",
]
