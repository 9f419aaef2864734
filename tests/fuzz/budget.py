"""How hard the fuzz suite tries: a small fixed budget in CI, more on demand.

CI runs every fuzz test with a deliberate, small `max_examples` and `derandomize=True` (the
examples follow from the test's source, so a red build is reproducible and never flaky). To
hunt for bugs for longer, raise the budget and let each run explore fresh examples:

    ORDERBOT_FUZZ_EXAMPLES=2000 .venv/bin/python -m pytest -p no:cacheprovider tests/fuzz

A failure found that way prints a `@reproduce_failure(...)` line to paste above the test.
"""

from __future__ import annotations

import os

FUZZ_EXAMPLES_ENV = "ORDERBOT_FUZZ_EXAMPLES"


def requested_examples() -> int:
    """The example count asked for in the environment, 0 when none (the CI budget)."""
    raw = os.environ.get(FUZZ_EXAMPLES_ENV, "").strip()
    if not raw:
        return 0
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{FUZZ_EXAMPLES_ENV} must be a positive whole number, not {raw!r}")
    return int(raw)


def examples(ci_budget: int) -> int:
    """max_examples for one test: its CI budget, or more when a longer run is asked for."""
    return max(ci_budget, requested_examples())
