"""What the conversation engine (bot.conversation) reads and returns: the stored state, the
customer's events, the context of a decision and the decision itself. Plain values, no logic
beyond their JSON form."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from bot.cart import CartLine, PricedCart
from bot.checkout import OrderDetails
from bot.clarify import PendingChoice, Question
from bot.replies import Reply
from catalog.catalog import Catalog
from parsers.models import ParseResult

# idle: no open order; asking: a clarifying question is out; confirming: the summary is out;
# checkout: confirmed items, collecting pickup/delivery, address or note before placing.
Stage = Literal["idle", "asking", "confirming", "checkout"]
class TextParser(Protocol):
    def parse(self, text: str) -> ParseResult: ...


@dataclass(frozen=True)
class ConversationState:
    stage: Stage = "idle"
    cart: tuple[CartLine, ...] = ()
    revision: int = 0  # bumps on every change; button ids carry it to spot stale taps
    pending: tuple[PendingChoice, ...] = ()  # ambiguous mentions still to pick from
    asking: Question | None = None  # the question the customer was last asked
    undo: tuple[CartLine, ...] | None = None  # the cart before its last change
    fulfilment: str | None = None  # "pickup" | "delivery" once chosen
    address: str = ""  # typed delivery address, or the name/address of a location pin
    location: tuple[float, float] | None = None  # (latitude, longitude) of a location pin
    note: str = ""  # the customer's note for the whole order
    handoff: bool = False  # a person took over: the bot stays quiet until released
    reminded: bool = False  # the idle-cart reminder went out for this cart
    browse: str = ""  # id of the menu page last shown, while it is the latest list (typed "3")
    # A person took over (handoff) since this order was started: the placed order records it,
    # so the owner report can tell orders the bot completed alone (bot.report).
    assisted: bool = False

    def to_json(self) -> str:
        return json.dumps({
            "stage": self.stage, "revision": self.revision,
            "cart": [line.to_json() for line in self.cart],
            "pending": [p.to_json() for p in self.pending],
            "asking": self.asking.to_json() if self.asking else None,
            "undo": None if self.undo is None else [line.to_json() for line in self.undo],
            "fulfilment": self.fulfilment, "address": self.address,
            "location": list(self.location) if self.location else None,
            "note": self.note, "handoff": self.handoff, "reminded": self.reminded,
            "browse": self.browse, "assisted": self.assisted,
        })

    @classmethod
    def from_json(cls, raw: str) -> ConversationState:
        data: dict[str, Any] = json.loads(raw) if raw else {}
        asking = data.get("asking")
        return cls(
            stage=data.get("stage", "idle"),
            cart=tuple(CartLine.from_json(line) for line in data.get("cart", [])),
            revision=int(data.get("revision", 0)),
            pending=tuple(PendingChoice.from_json(p) for p in data.get("pending", [])),
            asking=Question.from_json(asking) if asking else None,
            undo=(None if data.get("undo") is None
                  else tuple(CartLine.from_json(line) for line in data["undo"])),
            fulfilment=data.get("fulfilment"),
            address=str(data.get("address") or ""),
            location=(None if not data.get("location")
                      else (float(data["location"][0]), float(data["location"][1]))),
            note=str(data.get("note") or ""),
            handoff=bool(data.get("handoff", False)),
            reminded=bool(data.get("reminded", False)),
            browse=str(data.get("browse") or ""),
            # A state stored before the flag existed: a chat handed off now is being helped.
            assisted=bool(data.get("assisted", data.get("handoff", False))),
        )


@dataclass(frozen=True)
class CustomerText:
    text: str


@dataclass(frozen=True)
class ButtonTap:
    button_id: str


@dataclass(frozen=True)
class OtherMessage:
    kind: str  # image, audio, sticker, reaction... anything we cannot read as an order


@dataclass(frozen=True)
class LocationPin:
    latitude: float
    longitude: float
    name: str = ""
    address: str = ""


@dataclass(frozen=True)
class NativeCartItem:
    retailer_id: str  # product_retailer_id from the WhatsApp catalog
    quantity: int
    price: str = ""  # item_price as sent, for information only: our catalog sets prices


@dataclass(frozen=True)
class NativeCart:
    """A cart sent from WhatsApp's own catalog UI (`type: order`)."""

    items: tuple[NativeCartItem, ...]
    text: str = ""


@dataclass(frozen=True)
class TimerFired:
    kind: Literal["reminder", "expiry", "handoff_timeout"]


@dataclass(frozen=True)
class HandoffRelease:
    """The shop gives the conversation back to the bot (`orderbot handoff release`)."""


Event = (CustomerText | ButtonTap | OtherMessage | LocationPin | NativeCart | TimerFired
         | HandoffRelease)


@dataclass(frozen=True)
class Decision:
    state: ConversationState
    replies: tuple[Reply, ...] = ()
    place_order: PricedCart | None = None  # set when the customer confirmed
    details: OrderDetails = field(default_factory=OrderDetails)  # fulfilment, address, note
    alerts: tuple[str, ...] = ()  # WhatsApp texts for the shop owner (e.g. a handoff request)
    # What happened, as "<what>:<kind>" tags the processor counts in its metrics after the
    # commit (bot.metrics.Metrics.count): kinds only, never the customer's words.
    outcomes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Context:
    """What a decision may read besides the state."""

    catalog: Catalog
    parser: TextParser
    customer_name: str = ""
    customer: str = ""  # the customer's WhatsApp number (for the owner's alerts)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))  # aware UTC
    stock: Mapping[str, int] = field(default_factory=dict)  # product id -> units left
    extra: dict[str, Any] = field(default_factory=dict)
