"""Shared helpers for the catalog tests: expected problems, and the grocery generator module."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from catalog.errors import CatalogError, CatalogProblem
from catalog.loader import load_catalog
from tests.paths import FIXTURES

GENERATOR = FIXTURES / "catalog" / "generate_grocery.py"


def problems_of(path: Path) -> list[CatalogProblem]:
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    return info.value.problems


def only_problem(path: Path) -> CatalogProblem:
    problems = problems_of(path)
    assert len(problems) == 1, "\n".join(str(p) for p in problems)
    return problems[0]


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_grocery", GENERATOR)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
