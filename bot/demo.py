"""`make demo`: the server, the WhatsApp emulator and a kitchen printer, all on this machine.

Nothing here talks to Meta: the server's Graph API base URL points at the local emulator, and
kitchen tickets go to a small receiver that checks their signature and prints them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os

from aiohttp import web

from adapters.whatsapp_emulator import StatusWebhook, run_emulator
from bot.app import create_app
from bot.config import Settings
from bot.security import signature_matches
from bot.tickets import render_ticket_text

log = logging.getLogger(__name__)

# Safe local values: they only unlock the local emulator and printer started below.
DEMO_APP_SECRET = "demo-app-secret"
DEMO_VERIFY_TOKEN = "demo-verify-token"
DEMO_ACCESS_TOKEN = "demo-access-token"
DEMO_PHONE_NUMBER_ID = "100000000000001"
DEMO_KITCHEN_SECRET = "demo-kitchen-secret"


def _port(variable: str, default: int) -> int:
    """The demo's helper ports can be moved when something else already uses them."""
    value = os.environ.get(variable, "").strip()
    return int(value) if value.isdigit() else default


EMULATOR_PORT = _port("ORDERBOT_DEMO_EMULATOR_PORT", 8081)
KITCHEN_PORT = _port("ORDERBOT_DEMO_KITCHEN_PORT", 8082)
DEMO_DISPLAY_TOKEN = "demo-kitchen"  # a local try-out only; a real shop sets a long random one


def demo_settings() -> Settings:
    """The user's settings where given, the demo's safe local values for everything else."""
    base = Settings()
    emulator = f"http://127.0.0.1:{EMULATOR_PORT}/v23.0"
    return Settings(
        catalog_path=base.catalog_path,
        database_url=base.database_url,
        host=base.host,
        port=base.port,
        app_secret=DEMO_APP_SECRET,
        verify_token=DEMO_VERIFY_TOKEN,
        access_token=DEMO_ACCESS_TOKEN,
        phone_number_id=DEMO_PHONE_NUMBER_ID,
        api_base_url=emulator,
        kitchen_webhook_url=f"http://127.0.0.1:{KITCHEN_PORT}/tickets",
        kitchen_webhook_secret=DEMO_KITCHEN_SECRET,
        kitchen_display_token=DEMO_DISPLAY_TOKEN,
    )


def kitchen_printer_app(secret: str) -> web.Application:
    """Receives tickets like a kitchen system would: checks the signature, prints the ticket."""

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        if not signature_matches(body, request.headers.get("X-Orderbot-Signature"), secret):
            log.warning("kitchen printer refused a ticket with a bad signature")
            return web.json_response({"error": "bad signature"}, status=403)
        print("\n" + render_ticket_text(json.loads(body)) + "\n", flush=True)
        return web.json_response({"printed": True})

    app = web.Application()
    app.router.add_post("/tickets", receive)
    return app


def _local(host: str) -> str:
    """Where this machine reaches a server listening on `host`."""
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


class PortTaken(Exception):
    """A port the demo needs is in use; the message says which and how to move it."""


async def _start_site(runner: web.AppRunner, host: str, port: int, what: str,
                      variable: str) -> None:
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as error:
        await runner.cleanup()
        raise PortTaken(f"cannot start the {what} on {host}:{port} ({error.strerror}). "
                        f"Stop whatever uses that port, or set {variable} to another port."
                        ) from error


async def run_demo() -> None:
    # Keep the window readable: tickets and warnings, not one line per HTTP request.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    settings = demo_settings()
    try:
        # Statuses (sent, delivered) come back to the server as from Meta, signed.
        hook = StatusWebhook(f"http://{_local(settings.host)}:{settings.port}/webhook",
                             DEMO_APP_SECRET)
        emulator = await run_emulator("127.0.0.1", EMULATOR_PORT, DEMO_ACCESS_TOKEN,
                                      DEMO_PHONE_NUMBER_ID, hook)
    except OSError as error:
        raise PortTaken(f"cannot start the WhatsApp emulator on 127.0.0.1:{EMULATOR_PORT} "
                        f"({error.strerror}). Stop whatever uses that port, or set "
                        "ORDERBOT_DEMO_EMULATOR_PORT to another port.") from error
    printer = web.AppRunner(kitchen_printer_app(DEMO_KITCHEN_SECRET))
    await printer.setup()
    try:
        await _start_site(printer, "127.0.0.1", KITCHEN_PORT, "kitchen printer",
                          "ORDERBOT_DEMO_KITCHEN_PORT")
        server = web.AppRunner(create_app(settings))
        await server.setup()
        await _start_site(server, settings.host, settings.port, "webhook server",
                          "ORDERBOT_PORT")
    except BaseException:
        await printer.cleanup()
        await emulator.cleanup()
        raise
    print(f"""
orderbot demo is running.
  shop catalog:      {settings.catalog_path}
  database:          {settings.database_url}
  webhook server:    http://{settings.host}:{settings.port}/webhook
  WhatsApp emulator: http://127.0.0.1:{EMULATOR_PORT} (stands in for Meta's Graph API)
  kitchen printer:   tickets are printed below in this window
  kitchen display:   http://{settings.host}:{settings.port}/kitchen?token={DEMO_DISPLAY_TOKEN}

Now open a second terminal in this folder and run:   make chat
Type an order such as "2 chicken shawarma and a large pepsi", then tap 1 to confirm.
Press Ctrl+C here to stop.
""", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.cleanup()
        await printer.cleanup()
        await emulator.cleanup()
