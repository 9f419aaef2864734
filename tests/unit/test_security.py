"""Signatures: Meta's test vector, tampering, malformed headers."""

from __future__ import annotations

from bot.security import sign, signature_matches, verify_token_matches
from tests.paths import whatsapp_fixture

# The vector from our protocol notes (shared/whatsapp-cloud-api.md §2).
VECTOR = "sha256=05636bf598b4d1a1bf034480aeddc598a0f2c9f0b32979ea992cf1a31c1f2a44"


def test_signature_of_the_reference_body_matches_metas_vector() -> None:
    body = whatsapp_fixture("text_message.json")
    assert len(body) == 1115
    assert sign(body, "test_app_secret") == VECTOR
    assert signature_matches(body, VECTOR, "test_app_secret")


def test_one_changed_byte_or_wrong_secret_fails() -> None:
    body = whatsapp_fixture("text_message.json")
    tampered = body.replace(b"2 large", b"9 large")
    assert not signature_matches(tampered, VECTOR, "test_app_secret")
    assert not signature_matches(body, VECTOR, "another_secret")


def test_malformed_headers_fail_instead_of_raising() -> None:
    body = b"{}"
    for header in (None, "", "sha256=", "sha1=abc", "05636bf598", "sha256=zz", "sha256=\u00e9"):
        assert not signature_matches(body, header, "secret")


def test_uppercase_hex_is_accepted() -> None:
    body = b'{"a":1}'
    assert signature_matches(body, sign(body, "s").upper().replace("SHA256=", "sha256="), "s")


def test_verify_token() -> None:
    assert verify_token_matches("tok", "tok")
    assert not verify_token_matches("tok2", "tok")
    assert not verify_token_matches(None, "tok")
    assert not verify_token_matches("", "")
