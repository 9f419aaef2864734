"""The error every delivery adapter raises: retry later, or give up and dead-letter."""

from __future__ import annotations


class DeliveryError(Exception):
    """A failed delivery. `retryable` decides between another attempt and the dead-letter list."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable
