"""The outbox dispatcher's statements (bot.dispatcher), built once: which lanes are due, the
claim of their first rows, the lease renewal, and the record of a round.

Why built once: SQLAlchemy takes milliseconds to build this many subqueries and aliases, more
than the database takes to run them, and a round runs them for every batch of replies.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import bindparam, func, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from adapters.db import OutboxItem

BATCH = 50  # lanes attempted per round
LANE_RUN = 20  # rows of one lane sent one after the other in a round


@dataclass(frozen=True)
class Claimed:
    """An outbox row in a round's hands: what delivering and recording it needs."""

    id: int
    kind: str
    lane: str
    key: str
    payload: str
    correlation_id: str | None
    result: str | None
    claimed_by: str | None



def lane_heads() -> Any:
    """The oldest pending row of every lane: the only one of its lane that may be attempted.

    A walk over the (state, lane, id) index: from one pending lane to the next (`lane > x`),
    one index seek each, then each lane's first id. It costs one step per lane with pending
    rows rather than one per pending row, so a lane with thousands of rows backed up behind a
    failing head (the kitchen printer is off) does not slow every round down.
    """
    step = aliased(OutboxItem)
    first = aliased(OutboxItem)
    lanes = (select(func.min(OutboxItem.lane).label("lane"))
             .where(col(OutboxItem.state) == "pending")
             .cte("pending_lanes", recursive=True))
    lanes = lanes.union_all(
        select(select(step.lane)
               .where(col(step.state) == "pending", col(step.lane) > lanes.c.lane)
               .order_by(col(step.lane)).limit(1)
               .scalar_subquery())
        .where(lanes.c.lane.is_not(None)))
    return (select(select(first.id)
                   .where(col(first.state) == "pending", col(first.lane) == lanes.c.lane)
                   .order_by(col(first.id)).limit(1).scalar_subquery())
            .where(lanes.c.lane.is_not(None)))


LANE_HEADS = lane_heads()
_CLAIMED_COLUMNS = tuple(field.name for field in fields(Claimed))


@dataclass(frozen=True)
class ClaimStatements:
    """The claim's two statements, built once: SQLAlchemy takes milliseconds to build this
    many subqueries and aliases, more than the database takes to run them, and a round runs
    them for every batch of replies (measured: the claim was the largest share of the
    server's CPU at a few messages a second)."""

    due: Any  # the lanes whose head is due and unclaimed: params now
    claim: Any  # claim their first rows: params lanes, now, token, until; RETURNING the rows

    @classmethod
    def build(cls, *, skip_locked: bool) -> ClaimStatements:
        table = OutboxItem.__table__  # type: ignore[attr-defined]
        moment = table.c.next_attempt_at.type  # how the database stores a time
        now = bindparam("now", type_=moment)
        unclaimed = or_(table.c.claimed_until.is_(None), table.c.claimed_until < now)
        due = (select(table.c.lane)
               .where(table.c.id.in_(LANE_HEADS), table.c.next_attempt_at <= now, unclaimed)
               .order_by(table.c.id)
               .limit(BATCH))
        if skip_locked:
            # Heads another worker is claiming right now are skipped instead of waited for.
            due = due.with_for_update(skip_locked=True)
        run, first, head = table.alias("run"), table.alias("first"), table.alias("head")
        first_rows = (select(run.c.id)
                      .where(run.c.state == "pending", run.c.lane == table.c.lane)
                      .order_by(run.c.id).limit(LANE_RUN))
        lane_head = (select(first.c.id)
                     .where(first.c.state == "pending", first.c.lane == table.c.lane)
                     .order_by(first.c.id).limit(1)
                     .correlate(table).scalar_subquery())  # the UPDATE's row
        held_elsewhere = (select(head.c.id)
                          .where(head.c.id == lane_head, head.c.claimed_until >= now,
                                 head.c.claimed_by != bindparam("token"))
                          .exists())
        # SQLite has no row locks: the head is checked again inside the UPDATE, so of two
        # workers racing for a lane only one gets it.
        claim = (update(table)
                 .where(table.c.lane.in_(bindparam("lanes", expanding=True)),
                        table.c.state == "pending", table.c.id.in_(first_rows), ~held_elsewhere)
                 .values(claimed_by=bindparam("token"),
                         claimed_until=bindparam("until", type_=moment))
                 .returning(*(table.c[name] for name in _CLAIMED_COLUMNS)))
        return cls(due, claim)


CLAIM = {False: ClaimStatements.build(skip_locked=False),  # by "is it PostgreSQL?"
         True: ClaimStatements.build(skip_locked=True)}
_OUTBOX = OutboxItem.__table__  # type: ignore[attr-defined]
# A round's results (OutboxDispatcher._record) and its lease renewal (_keep_claim), matching
# only rows still claimed by the round.
RECORD_SENT = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("row_id"), _OUTBOX.c.claimed_by == bindparam("token"))
    .values(state="sent", result=bindparam("row_result"),
            sent_at=bindparam("at", type_=_OUTBOX.c.sent_at.type),
            attempts=_OUTBOX.c.attempts + 1, claimed_by=None, claimed_until=None))
RENEW_CLAIM = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True)),
           _OUTBOX.c.claimed_by == bindparam("token"), _OUTBOX.c.state == "pending")
    .values(claimed_until=bindparam("until", type_=_OUTBOX.c.claimed_until.type)))
RELEASE_UNTRIED = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True)),
           _OUTBOX.c.claimed_by == bindparam("token"))
    .values(claimed_by=None, claimed_until=None))
