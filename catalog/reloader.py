"""Keeping the live catalog in step with its file: reload on change, keep the last good one."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

from catalog.catalog import Catalog
from catalog.errors import CatalogError, CatalogProblem
from catalog.loader import load_catalog_bytes

logger = logging.getLogger(__name__)

# (mtime in ns, size): a cheap test that lets an unchanged file skip reading and hashing.
_Stat = tuple[int, int]


class CatalogHolder:
    """The current catalog of one file, swapped atomically when the owner saves a good version.

    Readers take `holder.current` once per message and use that object throughout, so a reload
    in the middle of handling a message never mixes two catalogs.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        content = self._read()
        if content is None:
            raise CatalogError([CatalogProblem(self.path.name, None, "",
                                               "The catalog file does not exist.",
                                               f"Check the path: {self.path}")])
        stat, data = content
        self._current = load_catalog_bytes(data, self.path.name, source=str(self.path))
        self._stat: _Stat | None = stat
        self._digest = hashlib.sha256(data).hexdigest()
        # The digest of a broken version already logged, so a watcher does not repeat it forever.
        self._reported: str | None = None
        self._lock = threading.Lock()
        # Called by watch() after each new catalog (e.g. re-syncing stock); see on_reload.
        self._listeners: list[Callable[[Catalog], Awaitable[None]]] = []

    def on_reload(self, listener: Callable[[Catalog], Awaitable[None]]) -> None:
        """Await `listener(new_catalog)` whenever watch() switches to a new catalog."""
        self._listeners.append(listener)

    @property
    def current(self) -> Catalog:
        """The last catalog that loaded without problems."""
        return self._current

    def reload_if_changed(self) -> bool:
        """Load the file again if it changed; True only when a new catalog is now current."""
        with self._lock:  # the watcher thread and a direct caller must not interleave
            return self._reload()

    def _reload(self) -> bool:
        try:
            stat = self._stat_now()
        except OSError as exc:
            self._report_once(f"missing:{exc.errno}", "Cannot read the catalog file %s (%s); "
                              "keeping the last good catalog.", self.path, exc.strerror)
            return False
        if stat == self._stat:
            return False
        content = self._read()
        if content is None:
            return False
        stat, data = content
        self._stat = stat
        digest = hashlib.sha256(data).hexdigest()
        if digest == self._digest:  # saved again without changes, touched, or a fix undone
            self._reported = None
            return False
        if digest == self._reported:  # the broken version already explained; nothing new
            return False
        try:
            catalog = load_catalog_bytes(data, self.path.name, source=str(self.path))
        except CatalogError as exc:
            lines = "\n".join(str(problem) for problem in exc.problems)
            self._report_once(digest, "The catalog file %s has %d problem(s); keeping the last "
                              "good catalog until they are fixed:\n%s", self.path,
                              len(exc.problems), lines)
            return False
        self._current = catalog  # one assignment: readers see the old or the new, never a mix
        self._digest = digest
        self._reported = None
        logger.info("Loaded the new catalog from %s: %d products.", self.path, len(catalog))
        return True

    async def watch(self, interval: float = 1.0) -> None:
        """Check the file every `interval` seconds until cancelled; run as a background task."""
        while True:
            await asyncio.sleep(interval)
            try:
                # Parsing a big catalog takes a while; keep the event loop answering meanwhile.
                if await asyncio.to_thread(self.reload_if_changed):
                    for listener in self._listeners:
                        await listener(self._current)
            except Exception:  # the watcher must outlive any surprise; log it and keep going
                logger.exception("Checking the catalog file %s failed", self.path)

    def _stat_now(self) -> _Stat:
        info = self.path.stat()
        return info.st_mtime_ns, info.st_size

    def _read(self) -> tuple[_Stat, bytes] | None:
        # Stat before reading: if the file changes while we read, the next check sees a new stat.
        try:
            stat = self._stat_now()
            return stat, self.path.read_bytes()
        except OSError:
            return None

    def _report_once(self, key: str, message: str, *args: object) -> None:
        if self._reported != key:
            self._reported = key
            logger.error(message, *args)
