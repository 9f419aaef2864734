"""Named network printers (ORDERBOT_PRINTERS): a kitchen and a bar printer side by side. Pure.

A shop owner writes them as one line, like the routes (bot.routing):

    ORDERBOT_PRINTERS = "kitchen = 192.168.1.50; bar = 192.168.1.51:9100/32"

Entries are separated by `;` (or new lines), each `name = host[:port][/width]`: the port
defaults to 9100 and the width (columns) to ORDERBOT_PRINTER_WIDTH. Each printer becomes the
ticket adapter `printer:<name>` (adapters.printer), with its own outbox lane, so a bar printer
that is off holds back only the bar's tickets. The single `printer` (ORDERBOT_PRINTER_HOST) is
unaffected; ':' cannot occur in a plain adapter name, so the two never collide.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

PRINTER_PREFIX = "printer:"
# 20 characters: "printer:" + the name still fits the outbox's 32-character kind column.
PRINTER_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,19}$")
DEFAULT_PORT = 9100
MIN_WIDTH, MAX_WIDTH = 20, 80  # as ORDERBOT_PRINTER_WIDTH
# host or [IPv6], then optionally :port and /width (checked apart, to say which is wrong)
_ADDRESS = re.compile(r"^(?:\[(?P<ipv6>[0-9a-f:.]+)\]|(?P<host>[a-z0-9._-]+))"
                      r"(?::(?P<port>[^/:]*))?(?:/(?P<width>[^/]*))?$", re.IGNORECASE)
EXAMPLE = '"kitchen = 192.168.1.50; bar = 192.168.1.51:9100"'


class PrintersError(ValueError):
    """ORDERBOT_PRINTERS cannot be used; the message names each bad entry and how to write it."""


@dataclass(frozen=True)
class NamedPrinter:
    name: str
    host: str
    port: int = DEFAULT_PORT
    width: int | None = None  # None: ORDERBOT_PRINTER_WIDTH

    @property
    def adapter(self) -> str:
        """Its ticket adapter's name, as written in ORDERBOT_ADAPTERS and ORDERBOT_ROUTES."""
        return PRINTER_PREFIX + self.name


def parse_printers(text: str | None) -> tuple[NamedPrinter, ...]:
    """The printers in the order written; raises PrintersError listing every bad entry."""
    printers: list[NamedPrinter] = []
    problems: list[str] = []
    for entry in (text or "").replace("\n", ";").split(";"):
        if not entry.strip():
            continue
        try:
            printer = _parse_entry(entry.strip())
        except PrintersError as error:
            problems.append(str(error))
            continue
        if any(known.name == printer.name for known in printers):
            problems.append(f"printer {printer.name!r} is defined twice: give each printer "
                            "its own name, e.g. kitchen and bar")
            continue
        printers.append(printer)
    if problems:
        raise PrintersError("; ".join(problems))
    return tuple(printers)


def _parse_entry(entry: str) -> NamedPrinter:
    raw_name, equals, address = entry.partition("=")
    name = raw_name.strip().lower()
    address = re.sub(r"\s*([:/])\s*", r"\1", address.strip())  # "host : 9100" is host:9100
    if not equals:
        raise PrintersError(f"{entry!r} has no '=': write each printer as 'name = address', "
                            f"e.g. {EXAMPLE}")
    if not PRINTER_NAME.match(name):
        raise PrintersError(f"{raw_name.strip()!r} is not a printer name: use one short word "
                            "(letters, digits, '-' or '_', starting with a letter, at most 20 "
                            "characters), e.g. kitchen or bar")
    if not address:
        raise PrintersError(f"printer {name!r} has no address after '=': write e.g. "
                            f"'{name} = 192.168.1.51' or '{name} = 192.168.1.51:9100'")
    found = _ADDRESS.match(address)
    if found is None:
        raise PrintersError(
            f"printer {name!r}: {address!r} is not a printer address: write its IP address or "
            "host name, optionally ':port' (usually 9100) and '/columns', e.g. "
            f"'{name} = 192.168.1.51:9100' (an IPv6 address goes in brackets: [fe80::5]:9100)")
    port_text, width_text = found.group("port"), found.group("width")
    port = DEFAULT_PORT if port_text is None else _number(port_text)
    host = found.group("host") or found.group("ipv6")
    if port is None or not 1 <= port <= 65535:
        written_host = found.group("host") or f"[{host}]"
        raise PrintersError(f"printer {name!r}: port {port_text!r} must be a number from 1 to "
                            f"65535 (printers listen on 9100), e.g. "
                            f"'{name} = {written_host}:9100'")
    width = None if width_text is None else _number(width_text)
    if width_text is not None and (width is None or not MIN_WIDTH <= width <= MAX_WIDTH):
        raise PrintersError(f"printer {name!r}: width {width_text!r} after '/' must be "
                            f"{MIN_WIDTH} to {MAX_WIDTH} columns: 32 on 58 mm paper, 42 or 48 on "
                            "80 mm")
    return NamedPrinter(name, host, port, width)


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def undefined_printers(names: Iterable[str], defined: Iterable[str]) -> str:
    """Why `printer:<name>` adapters that ORDERBOT_PRINTERS lacks cannot be used."""
    missing = [name.removeprefix(PRINTER_PREFIX) for name in names]
    known = ", ".join(name.removeprefix(PRINTER_PREFIX) for name in defined)
    has = f"it names {known}" if known else "it is not set"
    return (f"{', '.join(PRINTER_PREFIX + name for name in missing)}: ORDERBOT_PRINTERS defines "
            f"no printer {' or '.join(repr(name) for name in missing)} ({has}); add e.g. "
            f"'{missing[0]} = 192.168.1.51' to it, or correct the name")
