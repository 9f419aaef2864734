"""The `spool` ticket adapter: each ticket as a text file in a folder (ORDERBOT_SPOOL_DIR).

For printers driven by the operating system (CUPS, a Windows shared printer) or any program
that watches a folder: files are named `<number>-<adapter>.txt` and appear whole — written to a
hidden temporary file first and renamed, so a watcher globbing `*.txt` never reads half a
ticket. A repeated delivery of the same key writes nothing: a marker per key is kept in
`.orderbot-delivered/`, so a watcher may move or delete printed files without causing reprints.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

from adapters.base import AdapterContext
from adapters.delivery import DeliveryError
from bot.tickets import render_ticket_text

MARKERS = ".orderbot-delivered"


class SpoolFolder:
    name = "spool"

    def __init__(self, folder: Path, width: int = 42) -> None:
        self._folder = folder
        self._width = width

    async def deliver(self, ticket: dict[str, Any], key: str) -> str:
        text = render_ticket_text(ticket, self._width) + "\n"
        filename = f"{ticket['order']['number']}-{self.name}.txt"
        try:
            # File system calls block; a slow network share must not stall the event loop.
            return await asyncio.to_thread(self._write, filename, text, key)
        except OSError as error:
            # A missing share, a full disk or a permission: fixable, so worth retrying.
            raise DeliveryError(f"cannot write {self._folder / filename}: {error}",
                                retryable=True) from error

    def _write(self, filename: str, text: str, key: str) -> str:
        markers = self._folder / MARKERS
        markers.mkdir(parents=True, exist_ok=True)
        marker = markers / hashlib.sha256(key.encode()).hexdigest()
        target = self._folder / filename
        if marker.exists():
            return f"already spooled as {filename}"
        if not target.exists():
            handle, temporary = tempfile.mkstemp(dir=self._folder, prefix=f".{filename}.",
                                                 suffix=".tmp")
            try:
                with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as file:
                    file.write(text)
                    file.flush()
                    os.fsync(file.fileno())  # on disk before it becomes visible
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        # Written last: a crash before it leaves the ticket file, which also counts as done.
        marker.write_text(key + "\n", encoding="utf-8")
        return f"spooled as {filename}"


def build_adapter(context: AdapterContext) -> SpoolFolder:
    settings = context.settings
    return SpoolFolder(Path(settings.spool_dir or "."), settings.printer_width)
