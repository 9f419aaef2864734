"""Shop rules: opening hours, the minimum order, what is available and how many are left. Pure.

Opening hours are wall-clock ranges in the shop's time zone; a range whose end is not after its
start runs past midnight ("18:00-02:00" on Friday is open until 2 am on Saturday). Every
comparison is made on absolute (UTC) instants, so a DST change never opens or closes the shop
an hour early. A shop without hours is always open; once hours are given, a weekday left out
is a closed day (the owner did not say the shop opens then).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot import texts
from catalog.catalog import Catalog
from catalog.models import WEEKDAYS, Product, Shop

_LOOKAHEAD_DAYS = 8  # a full week and a day: every weekly opening is seen at least once
MAX_ALTERNATIVES = 3


@dataclass(frozen=True)
class Opening:
    """Whether the shop is open at a moment and, when it is not, when it opens next."""

    open: bool
    next_open: datetime | None = None  # aware, in the shop's time zone; None: never opens


def _minutes(clock: str) -> int:
    hours, minutes = clock.strip().split(":")
    return int(hours) * 60 + int(minutes)


def _windows(shop: Shop, day: date, zone: ZoneInfo) -> Iterator[tuple[datetime, datetime]]:
    """The opening windows that start on this local day, as UTC instants."""
    for hours_range in shop.hours.get(WEEKDAYS[day.weekday()], ()):
        start_text, end_text = hours_range.replace(" ", "").split("-")
        start, end = _minutes(start_text), _minutes(end_text)
        if end <= start:  # past midnight (or round the clock when equal)
            end += 24 * 60
        midnight = datetime.combine(day, time(0))
        # Local wall-clock time first, then UTC: "17:00" stays 17:00 on a DST day.
        opens = (midnight + timedelta(minutes=start)).replace(tzinfo=zone)
        closes = (midnight + timedelta(minutes=end)).replace(tzinfo=zone)
        yield opens.astimezone(UTC), closes.astimezone(UTC)


def opening(shop: Shop, now: datetime) -> Opening:
    """Open or closed at `now` (aware), and the next opening when closed."""
    if not shop.hours:
        return Opening(True)
    zone = ZoneInfo(shop.timezone)
    instant = now.astimezone(UTC)
    today = instant.astimezone(zone).date()
    # Yesterday's windows matter too: Friday 18:00-02:00 is still open at 1 am on Saturday.
    for offset in (-1, 0):
        for opens, closes in _windows(shop, today + timedelta(days=offset), zone):
            if opens <= instant < closes:
                return Opening(True)
    for offset in range(_LOOKAHEAD_DAYS):
        starts = sorted(opens for opens, _ in _windows(shop, today + timedelta(days=offset), zone)
                        if opens > instant)
        if starts:
            return Opening(False, starts[0].astimezone(zone))
    return Opening(False)


def when_text(next_open: datetime, now: datetime) -> str:
    """'today at 17:00', 'tomorrow at 11:00', 'on Monday at 11:00' in the shop's time."""
    local_now = now.astimezone(next_open.tzinfo)
    clock = next_open.strftime("%H:%M")
    days = (next_open.date() - local_now.date()).days
    if days == 0:
        return texts.text("opens_today", time=clock)
    if days == 1:
        return texts.text("opens_tomorrow", time=clock)
    names = [name.strip() for name in texts.text("weekday_names").split(",")]
    weekday = names[next_open.weekday()] if len(names) == 7 else WEEKDAYS[next_open.weekday()]
    return texts.text("opens_on_day", day=weekday, time=clock)


def closed_notice(shop: Shop, now: datetime) -> str | None:
    """What the summary says when the shop is closed now; None when it is open."""
    state = opening(shop, now)
    if state.open:
        return None
    if state.next_open is None:
        return texts.text("shop_closed_no_hours")
    when = when_text(state.next_open, now)
    return texts.text("summary_preorder" if shop.preorders else "summary_closed", when=when)


def refusal_when_closed(shop: Shop, now: datetime) -> str | None:
    """Why an order cannot be placed now because of the hours; None when it can."""
    state = opening(shop, now)
    if state.open or (shop.preorders and state.next_open is not None):
        return None
    if state.next_open is None:
        return texts.text("shop_closed_no_hours")
    return texts.text("shop_closed", when=when_text(state.next_open, now))


def preorder_time(shop: Shop, now: datetime) -> datetime | None:
    """When a pre-order taken now will be prepared: the next opening, if the shop is closed."""
    state = opening(shop, now)
    return None if state.open else state.next_open


def minimum_shortfall(shop: Shop, total: Decimal) -> Decimal | None:
    """How much more the order needs to reach the shop's minimum; None when it is enough."""
    if shop.minimum_order is None or total >= shop.minimum_order:
        return None
    return shop.minimum_order - total


def units_left(product: Product, stock: Mapping[str, int]) -> int | None:
    """How many are left: the live count when the caller has one, else the catalog's; None = no
    limit."""
    if product.id in stock:
        return max(0, stock[product.id])
    return product.stock


def can_sell(product: Product, stock: Mapping[str, int]) -> bool:
    left = units_left(product, stock)
    return product.available and (left is None or left > 0)


def alternatives(catalog: Catalog, product_id: str, stock: Mapping[str, int]) -> list[str]:
    """Names of other products of the same category that can be sold now, in menu order."""
    product = catalog.product(product_id)
    if product is None:
        return []
    return [p.name for p in catalog.products
            if p.category == product.category and p.id != product.id and can_sell(p, stock)
            ][:MAX_ALTERNATIVES]
