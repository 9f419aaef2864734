"""Where the test data lives."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
WHATSAPP_FIXTURES = FIXTURES / "whatsapp"
RESTAURANT_CATALOG = FIXTURES / "catalog" / "restaurant.yaml"


def whatsapp_fixture(name: str) -> bytes:
    """The raw bytes of a sample webhook body, exactly as Meta would sign them."""
    return (WHATSAPP_FIXTURES / name).read_bytes()
