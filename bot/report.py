"""The owner's report: a day's orders, revenue, top items and what went wrong. Pure.

`orderbot report` reads the period's rows (adapters.report_query) between the UTC bounds of
`Period`, and this module counts them by the shop's own calendar (the catalog's timezone, not
UTC: an order at 23:30 in New York belongs to that evening), then renders the text the owner
reads and the JSON a script reads.

Money is Decimal throughout. A confirmed order is any placed order not cancelled; revenue and
the average count confirmed orders only, in the shop's currency — an order stored in another
currency (placed before the catalog's currency was changed) cannot be added to it, so it is
shown apart and left out of the money figures (its items still count as sold).

Cancelled orders are broken down by who cancelled them (bot.cancellation: the kitchen screen,
a kitchen system, an operator; "not recorded" for orders cancelled before orderbot kept it),
with the reasons the customers were told that came up most.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bot.cancellation import (
    CANCELLED_BY,
    CANCELLED_BY_WORDS,
    UNKNOWN,
    cancelled_by_label,
    is_cancelled_by,
)
from catalog.catalog import Catalog

CANCELLED = "cancelled"
TOP_ITEMS = 5
TOP_CANCEL_REASONS = 3
NOT_RECORDED = "not recorded"  # the owner's words for who cancelled an older order
DEAD_LETTERS_COMMAND = "orderbot outbox list --state dead"


@dataclass(frozen=True)
class Period:
    """Whole days of the shop's calendar, `first` to `last` inclusive."""

    first: date
    last: date
    zone: ZoneInfo

    @classmethod
    def days_ending(cls, last: date, days: int, zone: ZoneInfo) -> Period:
        if days < 1:
            raise ValueError("a report covers at least one day")
        return cls(last - timedelta(days=days - 1), last, zone)

    @property
    def start(self) -> datetime:
        """The first day's local midnight, in UTC (DST-aware: a day may last 23 or 25 hours)."""
        return datetime.combine(self.first, time(0), self.zone).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The local midnight after the last day, in UTC (exclusive)."""
        return datetime.combine(self.last + timedelta(days=1), time(0), self.zone).astimezone(UTC)

    def local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:  # SQLite hands back naive UTC
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(self.zone)

    def holds(self, moment: datetime) -> bool:
        return self.first <= self.local(moment).date() <= self.last

    def label(self) -> str:
        """'Friday 27 November 2026', or '21 – 27 November 2026' for several days."""
        if self.first == self.last:
            return f"{self.first:%A} {self.first.day} {self.first:%B %Y}"
        start = f"{self.first.day} {self.first:%B %Y}" if self.first.year != self.last.year \
            else f"{self.first.day} {self.first:%B}" if self.first.month != self.last.month \
            else f"{self.first.day}"
        return f"{start} – {self.last.day} {self.last:%B %Y}"


def today(zone: ZoneInfo, now: datetime) -> date:
    """The shop's date at `now` (aware)."""
    return now.astimezone(zone).date()


@dataclass(frozen=True)
class SoldLine:
    product: str
    variant: str | None
    quantity: int
    line_total: Decimal | None  # None: an order stored before line totals were kept
    options: tuple[str, ...] = ()  # choice ids, to estimate such an order's line at menu prices

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SoldLine:
        """A line as bot.processing stores it in customer_order.lines."""
        total = data.get("line_total")
        return cls(str(data["product"]), data.get("variant"), int(data["quantity"]),
                   None if total is None else Decimal(str(total)),
                   tuple(str(option[0]) for option in data.get("options", [])))


@dataclass(frozen=True)
class OrderFact:
    """What the report needs of one placed order (adapters.db.OrderRow)."""

    number: int
    created_at: datetime  # UTC; naive is read as UTC
    status: str
    total: Decimal
    currency: str
    fulfillment: str
    lines: tuple[SoldLine, ...] = ()
    assisted: bool | None = None  # None: placed before it was recorded
    cancelled_by: str | None = None  # bot.cancellation.CancelledBy; None: not recorded
    cancel_reason: str = ""  # what the customer was told ("" for no reason)


@dataclass(frozen=True)
class Activity:
    """Counts from the inbox and the outbox for the period."""

    messages: int = 0  # customer messages received
    failed: int = 0  # messages the bot could not process (the customer got an apology)
    limited: int = 0  # messages over the per-sender rate limit (not processed)
    dead_letters: int = 0  # deliveries (replies, tickets) given up, made in the period
    dead_now: int = 0  # dead letters waiting for `orderbot outbox retry`, from any day


@dataclass(frozen=True)
class TopItem:
    product: str
    name: str
    quantity: int
    revenue: Decimal
    estimated: bool = False  # part of the revenue is at today's menu price (older orders)


@dataclass(frozen=True)
class Report:
    shop: str
    currency: str
    period: Period
    confirmed: int
    cancelled: int
    revenue: Decimal
    average: Decimal | None
    pickup: int
    delivery: int
    top_items: tuple[TopItem, ...]
    busiest_hour: int | None  # local hour (0-23) with the most orders placed
    busiest_orders: int
    unassisted: int  # confirmed orders no person helped with
    assisted: int
    help_unknown: int
    other_currencies: tuple[tuple[str, int, Decimal], ...] = ()  # (currency, orders, total)
    activity: Activity = field(default_factory=Activity)
    # Cancelled orders by who cancelled them: every CancelledBy code, then UNKNOWN (zeros kept).
    cancelled_by: tuple[tuple[str, int], ...] = ()
    cancel_reasons: tuple[tuple[str, int], ...] = ()  # (reason, orders), most frequent first

    @property
    def unassisted_share(self) -> Decimal | None:
        known = self.unassisted + self.assisted
        return None if known == 0 else Decimal(self.unassisted) / Decimal(known)


def build(period: Period, orders: Iterable[OrderFact], activity: Activity,
          catalog: Catalog, top: int = TOP_ITEMS) -> Report:
    placed = [order for order in orders if period.holds(order.created_at)]
    confirmed = [order for order in placed if order.status != CANCELLED]
    cancelled = [order for order in placed if order.status == CANCELLED]
    who = Counter(cancelled_by_label(order.cancelled_by) for order in cancelled)
    currency = catalog.shop.currency
    paid = [order for order in confirmed if order.currency == currency]
    revenue = sum((order.total for order in paid), Decimal(0))
    others: dict[str, tuple[int, Decimal]] = {}
    for order in confirmed:
        if order.currency != currency:
            count, total = others.get(order.currency, (0, Decimal(0)))
            others[order.currency] = (count + 1, total + order.total)
    hours = Counter(period.local(order.created_at).hour for order in placed)
    busiest = min(hours, key=lambda hour: (-hours[hour], hour)) if hours else None
    fulfilled = Counter(order.fulfillment for order in confirmed)
    helped = Counter(order.assisted for order in confirmed)
    return Report(
        shop=catalog.shop.name, currency=currency, period=period,
        confirmed=len(confirmed), cancelled=len(cancelled),
        revenue=revenue,
        average=_average(revenue, paid),
        pickup=fulfilled["pickup"], delivery=fulfilled["delivery"],
        top_items=_top_items(confirmed, currency, catalog, top),
        busiest_hour=busiest, busiest_orders=hours[busiest] if busiest is not None else 0,
        unassisted=helped[False], assisted=helped[True], help_unknown=helped[None],
        other_currencies=tuple((code, count, total)
                               for code, (count, total) in sorted(others.items())),
        activity=activity,
        cancelled_by=tuple((label, who[label]) for label in (*CANCELLED_BY, UNKNOWN)),
        cancel_reasons=_top_reasons(cancelled),
    )


def _top_reasons(cancelled: list[OrderFact]) -> tuple[tuple[str, int], ...]:
    """The reasons told most often; staff type them freely, so "Out of dough" and "out of
    dough" are one reason (shown as first typed). Ties keep the earlier order's reason first."""
    counts: Counter[str] = Counter()
    spelling: dict[str, str] = {}
    for order in cancelled:
        if order.cancel_reason:
            key = order.cancel_reason.casefold()
            spelling.setdefault(key, order.cancel_reason)
            counts[key] += 1
    return tuple((spelling[key], count)
                 for key, count in counts.most_common(TOP_CANCEL_REASONS))


def _average(revenue: Decimal, paid: list[OrderFact]) -> Decimal | None:
    if not paid:
        return None
    # As many decimals as the prices have (2 for USD, 3 for KWD, 0 for JPY).
    places = max(max(0, -int(order.total.as_tuple().exponent)) for order in paid)
    return (revenue / len(paid)).quantize(Decimal(1).scaleb(-places))


def _top_items(orders: list[OrderFact], currency: str, catalog: Catalog,
               top: int) -> tuple[TopItem, ...]:
    quantities: Counter[str] = Counter()
    revenue: dict[str, Decimal] = {}
    estimated: set[str] = set()
    for order in orders:
        for line in order.lines:
            quantities[line.product] += line.quantity
            if order.currency != currency:
                continue  # sold, but not money we can add to the shop's currency
            money = line.line_total
            if money is None:  # an order from before line totals were stored
                money = _menu_price(catalog, line)
                estimated.add(line.product)
            revenue[line.product] = revenue.get(line.product, Decimal(0)) + money
    ranked = sorted(quantities, key=lambda pid: (-quantities[pid],
                                                 -revenue.get(pid, Decimal(0)), pid))
    return tuple(
        TopItem(pid, _name(catalog, pid), quantities[pid], revenue.get(pid, Decimal(0)),
                pid in estimated)
        for pid in ranked[:top])


def _menu_price(catalog: Catalog, line: SoldLine) -> Decimal:
    product = catalog.product(line.product)
    if product is None or (line.variant is not None and product.variant(line.variant) is None):
        return Decimal(0)  # no longer on the menu: its price is unknown
    return product.unit_price(line.variant, line.options) * line.quantity


def _name(catalog: Catalog, product_id: str) -> str:
    product = catalog.product(product_id)
    return product.name if product is not None else product_id


# --- rendering ---

def render_text(report: Report, catalog: Catalog) -> str:
    """What `orderbot report` prints: short lines a shop owner reads at a glance."""
    money = catalog.format_money
    period = report.period
    lines = [f"{report.shop} — {period.label()} ({period.zone.key})", ""]
    orders = f"{report.confirmed} confirmed"
    if report.cancelled:
        orders += f", {report.cancelled} cancelled{_who_cancelled(report)}"
    lines.append(f"Orders          {orders}")
    if report.cancel_reasons:
        lines.append("Cancel reasons  " + ", ".join(
            f"{reason} ×{count}" for reason, count in report.cancel_reasons))
    if report.average is not None:
        lines.append(f"Revenue         {money(report.revenue)} "
                     f"(average order {money(report.average)})")
    else:
        lines.append(f"Revenue         {money(report.revenue)}")
    for code, count, total in report.other_currencies:
        lines.append(f"                and {count} order{_s(count)} in {code} ({total} {code}), "
                     f"placed before the shop's currency became {report.currency}: "
                     "not counted above")
    if report.confirmed:
        lines.append(f"Pickup/delivery {report.pickup} pickup, {report.delivery} delivery")
    if report.busiest_hour is not None:
        hour = report.busiest_hour
        lines.append(f"Busiest hour    {hour:02d}:00–{(hour + 1) % 24:02d}:00 "
                     f"({report.busiest_orders} order{_s(report.busiest_orders)})")
    share = report.unassisted_share
    if share is not None:
        known = report.unassisted + report.assisted
        lines.append(f"No human help   {report.unassisted} of {known} orders "
                     f"({_percent(share)}) were completed by the bot alone")
    if report.help_unknown:
        lines.append(f"                ({report.help_unknown} older order"
                     f"{_s(report.help_unknown)} did not record it)")
    if report.top_items:
        lines += ["", "Top items"]
        width = max(len(item.name) for item in report.top_items)
        for rank, item in enumerate(report.top_items, 1):
            approx = "≈" if item.estimated else ""
            lines.append(f"  {rank}. {item.name:<{width}}  {item.quantity:>4} sold  "
                         f"{approx}{money(item.revenue)}")
        if any(item.estimated for item in report.top_items):
            lines.append("     ≈ part at today's menu prices (orders from before line "
                         "prices were kept)")
    lines += ["", "Problems"]
    activity = report.activity
    problems = []
    if activity.failed:
        problems.append(f"  {activity.failed} message{_s(activity.failed)} could not be "
                        "processed (the customer was asked to try again; see the server log)")
    if activity.limited:
        problems.append(f"  {activity.limited} message{_s(activity.limited)} over the rate "
                        "limit (sent too fast) were not read")
    if activity.dead_letters:
        problems.append(f"  {activity.dead_letters} deliver{_ies(activity.dead_letters)} "
                        f"(replies or tickets) failed for good: see `{DEAD_LETTERS_COMMAND}`")
    if activity.dead_now > activity.dead_letters:
        problems.append(f"  {activity.dead_now} failed deliver{_ies(activity.dead_now)} from any "
                        "day can be sent again with `orderbot outbox retry ID`")
    lines += problems or ["  none"]
    lines.append(f"\n{activity.messages} customer message{_s(activity.messages)} received.")
    return "\n".join(lines)


def to_json(report: Report) -> dict[str, Any]:
    """The report for scripts: money as decimal strings, the share as a fraction (0-1)."""
    share = report.unassisted_share
    activity = report.activity
    return {
        "shop": report.shop,
        "currency": report.currency,
        "timezone": report.period.zone.key,
        "from": report.period.first.isoformat(),
        "to": report.period.last.isoformat(),
        "orders": {"confirmed": report.confirmed, "cancelled": report.cancelled,
                   "pickup": report.pickup, "delivery": report.delivery,
                   "cancelled_by": dict(report.cancelled_by),
                   "cancel_reasons": [{"reason": reason, "orders": count}
                                      for reason, count in report.cancel_reasons]},
        "revenue": str(report.revenue),
        "average_order": None if report.average is None else str(report.average),
        "other_currencies": [{"currency": code, "orders": count, "total": str(total)}
                             for code, count, total in report.other_currencies],
        "busiest_hour": report.busiest_hour,
        "busiest_hour_orders": report.busiest_orders,
        "help": {"none": report.unassisted, "human": report.assisted,
                 "unknown": report.help_unknown,
                 "no_help_share": None if share is None else float(round(share, 4))},
        "top_items": [{"product": item.product, "name": item.name, "quantity": item.quantity,
                       "revenue": str(item.revenue), "estimated": item.estimated}
                      for item in report.top_items],
        "failures": {"messages_failed": activity.failed,
                     "messages_rate_limited": activity.limited,
                     "dead_letters": activity.dead_letters,
                     "dead_letters_waiting": activity.dead_now},
        "messages_received": activity.messages,
    }


def _who_cancelled(report: Report) -> str:
    """" (kitchen screen 2, operator 1)"; nothing when no cancellation recorded who (a period
    from before it was kept), as a breakdown of only "not recorded" tells the owner nothing."""
    counts = [(label, count) for label, count in report.cancelled_by if count]
    if all(label == UNKNOWN for label, _ in counts):
        return ""
    def words(label: str) -> str:
        return CANCELLED_BY_WORDS[label] if is_cancelled_by(label) else NOT_RECORDED

    return " (" + ", ".join(f"{words(label)} {count}" for label, count in counts) + ")"


def _percent(share: Decimal) -> str:
    return f"{(share * 100).quantize(Decimal(1))}%"


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _ies(count: int) -> str:
    return "y" if count == 1 else "ies"
