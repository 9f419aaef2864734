"""Keeps one OrderParser per catalog version: rebuilt only when the catalog is reloaded."""

from __future__ import annotations

import threading
from collections.abc import Callable

from catalog.catalog import Catalog
from parsers import OrderParser


class ParserCache:
    def __init__(self, catalog: Callable[[], Catalog]) -> None:
        self._catalog = catalog
        self._lock = threading.Lock()
        self._built_for: Catalog | None = None
        self._parser: OrderParser | None = None

    def __call__(self) -> OrderParser:
        catalog = self._catalog()
        with self._lock:
            if self._parser is None or self._built_for is not catalog:
                self._parser = OrderParser(catalog)
                self._built_for = catalog
            return self._parser
