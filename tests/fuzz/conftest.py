"""Hypothesis settings shared by the fuzz suite (see tests/fuzz/budget.py for running longer)."""

from __future__ import annotations

import pytest
from hypothesis import settings

from bot.config import Settings
from catalog.catalog import Catalog
from catalog.loader import load_catalog
from parsers.order_parser import OrderParser
from tests.fuzz.budget import requested_examples
from tests.paths import FIXTURES

# No example database: CI stays deterministic and nothing is written next to the checkout.
# No deadline: the first example pays for building spaCy, and CI machines vary; the suite
# checks speed where it matters with explicit, generous bounds instead.
settings.register_profile("orderbot-ci", derandomize=True, database=None, deadline=None,
                          print_blob=True)
settings.register_profile("orderbot-long", derandomize=False, database=None, deadline=None,
                          print_blob=True)
settings.load_profile("orderbot-long" if requested_examples() else "orderbot-ci")

GROCERY_CATALOG = FIXTURES / "catalog" / "grocery.yaml"


@pytest.fixture(scope="session")
def restaurant() -> Catalog:
    return load_catalog(FIXTURES / "catalog" / "restaurant.yaml")


@pytest.fixture(scope="session")
def grocery() -> Catalog:
    return load_catalog(GROCERY_CATALOG)


@pytest.fixture(scope="session")
def restaurant_parser(restaurant: Catalog) -> OrderParser:
    return OrderParser(restaurant)


@pytest.fixture(scope="session")
def grocery_parser(grocery: Catalog) -> OrderParser:
    return OrderParser(grocery)


@pytest.fixture
def settings_unlimited(settings: Settings) -> Settings:
    """The e2e settings without the per-sender rate limit: one app takes hundreds of examples
    from the same customer, which is a flood by the limit's measure (tests/e2e/test_ingest.py
    covers the limit)."""
    return settings.model_copy(update={"rate_limit_per_minute": 0})
