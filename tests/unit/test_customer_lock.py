"""The customer lock key: the same number in every process, within PostgreSQL's bigint."""

from __future__ import annotations

from adapters.customer_lock import lock_key


def test_a_customer_has_one_lock_key_everywhere_and_different_customers_differ() -> None:
    # A fixed value: hash() would differ between processes (PYTHONHASHSEED) and lock nothing.
    assert lock_key("15550002222") == lock_key("15550002222") == 621208457038096290
    keys = {lock_key(f"1555000{n:04d}") for n in range(1000)}
    assert len(keys) == 1000
    assert all(-(2**63) <= key < 2**63 for key in keys)
