"""The `printer` ticket adapter: an ESC/POS receipt printer on the network (raw TCP, port 9100).

Why raw bytes and not python-escpos: python-escpos talks to the printer over blocking sockets
(it would need a thread per ticket under asyncio) and pulls in Pillow, qrcode and USB libraries
for features a kitchen ticket does not use. A ticket needs four things every ESC/POS printer
understands: initialise (ESC @), select the PC437 code page (ESC t 0), plain text lines,
feed and cut (ESC d n, GS V 1). Raw TCP on port 9100 ("JetDirect") is what network receipt
printers accept; they do not answer, so a delivery counts as done once the bytes are accepted.

A printer that is off, unplugged or busy refuses or times out: that is retryable, and the
dispatcher prints the ticket when it is back, in order of confirmation.

`printer` is the one printer of ORDERBOT_PRINTER_HOST; `printer:<name>` each printer of
ORDERBOT_PRINTERS (bot.named_printers), an adapter of its own with its own lane.
"""

from __future__ import annotations

import asyncio
import unicodedata
from collections import OrderedDict
from typing import Any

from adapters.base import AdapterContext
from adapters.delivery import DeliveryError
from bot.tickets import render_ticket_text

INIT = b"\x1b@"  # ESC @: reset modes left over from whatever printed last
CODE_PAGE_437 = b"\x1bt\x00"  # ESC t 0: PC437, the factory default of most printers
FEED_AND_CUT = b"\x1bd\x04" + b"\x1dV\x01"  # feed 4 lines past the cutter, partial cut
CONNECT_TIMEOUT = 5.0  # a printer on the LAN answers in milliseconds when it is on
REMEMBERED_KEYS = 1000


def escpos_bytes(text: str) -> bytes:
    """The printer job: init, code page, the text in PC437, feed and cut."""
    return INIT + CODE_PAGE_437 + to_code_page(text).rstrip(b"\n") + b"\n" + FEED_AND_CUT


def to_code_page(text: str) -> bytes:
    """PC437 bytes; accented letters lose their accent when PC437 lacks them, others print '?'.

    The printer has no font for Arabic or CJK in this mode; '?' keeps columns aligned.
    """
    out = bytearray()
    for char in text:
        try:
            out += char.encode("cp437")
            continue
        except UnicodeEncodeError:
            pass
        base = "".join(c for c in unicodedata.normalize("NFKD", char)
                       if not unicodedata.combining(c))
        try:
            out += base.encode("cp437") if base else b""
        except UnicodeEncodeError:
            out += b"?"
    return bytes(out)


class NetworkPrinter:
    def __init__(self, host: str, port: int = 9100, width: int = 42,
                 timeout: float = CONNECT_TIMEOUT, name: str = "printer") -> None:
        self.name = name  # the outbox kind and lane: "printer", or "printer:bar"
        self._host = host
        self._port = port
        self._width = width
        self._timeout = timeout  # to connect; sending gets twice as long
        # A delivery whose success could not be recorded is tried again; within this process
        # the printer is not asked to print the same ticket twice.
        self._printed: OrderedDict[str, None] = OrderedDict()

    async def deliver(self, ticket: dict[str, Any], key: str) -> str:
        if key in self._printed:
            return f"already printed on {self._host}:{self._port}"
        job = escpos_bytes(render_ticket_text(ticket, self._width))
        where = f"{self._host}:{self._port}"
        try:
            async with asyncio.timeout(self._timeout):
                _reader, writer = await asyncio.open_connection(self._host, self._port)
        except (OSError, TimeoutError) as error:
            raise DeliveryError(f"printer {where} unreachable: {_describe(error)}",
                                retryable=True) from error
        try:
            async with asyncio.timeout(2 * self._timeout):
                writer.write(job)
                await writer.drain()
                writer.close()
                await writer.wait_closed()
        except (OSError, TimeoutError) as error:
            writer.transport.abort()
            raise DeliveryError(f"printer {where} stopped taking the ticket: "
                                f"{_describe(error)}", retryable=True) from error
        self._printed[key] = None
        while len(self._printed) > REMEMBERED_KEYS:
            self._printed.popitem(last=False)
        return f"printed {len(job)} bytes on {where}"


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def build_adapter(context: AdapterContext) -> NetworkPrinter:
    settings = context.settings
    return NetworkPrinter(settings.printer_host or "", settings.printer_port,
                          settings.printer_width)


def build_named_adapter(context: AdapterContext, name: str) -> NetworkPrinter:
    """The printer `name` of ORDERBOT_PRINTERS, as the adapter `printer:<name>`."""
    settings = context.settings
    printers = {printer.name: printer for printer in settings.named_printers()}
    if name not in printers:  # the settings refuse this at start-up; a clear error all the same
        raise KeyError(f"no printer {name!r} in ORDERBOT_PRINTERS")
    printer = printers[name]
    return NetworkPrinter(printer.host, printer.port, printer.width or settings.printer_width,
                          name=printer.adapter)
