"""The plain copies processing reads instead of ORM objects (adapters.message_store) must carry
every column they stand for: a column added to the table and not to the copy would be lost on
the next save of the conversation, or would be missing where processing reads the message."""

from dataclasses import fields

from sqlalchemy import Table

from adapters.db import ConversationRow, InboundMessage
from adapters.message_store import _PENDING, Conversation, PendingMessage


def _columns(model: object) -> list[str]:
    table: Table = model.__table__  # type: ignore[attr-defined]
    return [column.name for column in table.columns]


def test_a_conversation_copy_has_every_column_of_the_conversation_table() -> None:
    assert [f.name for f in fields(Conversation)] == _columns(ConversationRow)


def test_a_conversation_copy_starts_with_the_tables_defaults() -> None:
    copy, row = Conversation(customer="15550001"), ConversationRow(customer="15550001")
    for name in ("reply_to", "name", "state", "version", "last_inbound_at", "customer_at",
                 "timer_from", "due_at", "due_kind"):
        assert getattr(copy, name) == getattr(row, name), name


def test_the_pending_read_selects_the_message_fields_in_their_order() -> None:
    selected = [column.name for column in _PENDING.selected_columns]
    read = [f.name for f in fields(PendingMessage)]
    assert selected == read[:len(selected)]
    assert set(read) <= set(_columns(InboundMessage))
