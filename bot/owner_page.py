"""GET /owner/report: the owner report (bot.report) as a small page, behind the display token.

The same ORDERBOT_KITCHEN_DISPLAY_TOKEN as the kitchen screen: open /owner/report?token=… once
(a cookie for /owner keeps the browser signed in and the token leaves the address bar), or send
`Authorization: Bearer <token>`. `?date=YYYY-MM-DD` and `?days=N` as in `orderbot report`.
Everything shown is escaped; the page runs no script.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from adapters.kitchen_display import COOKIE, DisplayAccess
from adapters.report_query import read_period
from bot import report
from catalog.catalog import Catalog

PATH = "/owner/report"
MAX_DAYS = 366
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def add_routes(app: web.Application, access: DisplayAccess,
               sessions: async_sessionmaker[AsyncSession], catalog: Callable[[], Catalog],
               now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
    async def owner_report(request: web.Request) -> web.Response:
        given = request.query.get("token")
        if given is not None:
            if not access.token_ok(given):
                return _plain(403, "Wrong token.")
            response = web.Response(status=303, headers={**HEADERS, "Location": PATH})
            response.set_cookie(COOKIE, access.cookie_value(), httponly=True, samesite="Strict",
                                secure=request.secure, path="/owner", max_age=30 * 24 * 3600)
            return response
        if not access.authorised(request):
            if not access.configured:
                return _plain(403, "The owner page is off: set ORDERBOT_KITCHEN_DISPLAY_TOKEN.")
            return _plain(401, f"Open {PATH}?token=… (the ORDERBOT_KITCHEN_DISPLAY_TOKEN).")
        shop = catalog()
        zone = ZoneInfo(shop.shop.timezone)
        try:
            days = int(request.query.get("days", "1"))
            last = (date.fromisoformat(request.query["date"]) if request.query.get("date")
                    else report.today(zone, now()))
            if not 1 <= days <= MAX_DAYS:
                raise ValueError(days)
        except ValueError:
            return _plain(400, f"Use ?date=YYYY-MM-DD and ?days=1…{MAX_DAYS}.")
        period = report.Period.days_ending(last, days, zone)
        orders, activity = await read_period(sessions, period)
        built = report.build(period, orders, activity, shop)
        return web.Response(text=page(built, shop), content_type="text/html", charset="utf-8",
                            headers=HEADERS)

    app.router.add_get(PATH, owner_report)


def page(built: report.Report, catalog: Catalog) -> str:
    """The report's text in a page, with a form for another day (all of it escaped)."""
    period = built.period
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(built.shop)} — report</title>
<style>body{{font-family:system-ui,sans-serif;margin:1.5rem;max-width:48rem}}
pre{{font-size:1rem;white-space:pre-wrap;background:#f6f6f6;padding:1rem;border-radius:6px}}
</style></head><body>
<form method="get" action="{PATH}">
<label>Day <input type="date" name="date" value="{period.last.isoformat()}"></label>
<label>Days <input type="number" name="days" min="1" max="{MAX_DAYS}"
value="{(period.last - period.first).days + 1}"></label>
<button type="submit">Show</button></form>
<pre>{html.escape(report.render_text(built, catalog))}</pre>
</body></html>
"""


def _plain(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text, headers=HEADERS)
