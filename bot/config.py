"""Settings: one typed object read from the environment and, optionally, an `orderbot.toml`.

The environment variable names are a public contract (README "Configuration"); nothing else in
the code reads os.environ.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from adapters.base import FACTORIES, known_adapters
from bot.named_printers import (
    PRINTER_PREFIX,
    NamedPrinter,
    PrintersError,
    parse_printers,
    undefined_printers,
)
from bot.proxy import parse_trusted_proxies
from bot.routing import RoutesError, Routing, parse_adapter_names

GRAPH_API_BASE_URL = "https://graph.facebook.com/v23.0"
SAMPLE_CATALOG = Path(__file__).resolve().parent.parent / "fixtures" / "catalog" / "restaurant.yaml"

# Secrets `orderbot serve` refuses to start without, by environment variable name.
REQUIRED_FOR_SERVE = (
    "WHATSAPP_APP_SECRET",
    "WHATSAPP_VERIFY_TOKEN",
    "WHATSAPP_ACCESS_TOKEN",
    "WHATSAPP_PHONE_NUMBER_ID",
)


def _env(name: str) -> Any:
    # Each field is read from exactly the documented variable name (case-insensitive).
    return Field(validation_alias=AliasChoices(name, name.lower()))


class _OrderbotSources(BaseSettings):
    """Where every orderbot settings class reads from: explicit arguments win, then the
    environment, then orderbot.toml in the working directory."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


class Settings(_OrderbotSources):
    """Everything configurable. Secrets are SecretStr so they never print."""

    model_config = SettingsConfigDict(
        toml_file="orderbot.toml", extra="ignore", frozen=True, populate_by_name=True
    )

    catalog_path: Path = Field(
        default=SAMPLE_CATALOG, validation_alias=AliasChoices("ORDERBOT_CATALOG", "catalog")
    )
    database_url: str = Field(
        default="sqlite:///orderbot.db",
        validation_alias=AliasChoices("ORDERBOT_DATABASE_URL", "database_url"),
    )
    # Upgrade the schema at start (adapters.migrations); off: `serve` refuses a database that
    # is behind, and `orderbot db upgrade` is run by hand (e.g. once per deployment).
    auto_migrate: bool = Field(
        default=True, validation_alias=AliasChoices("ORDERBOT_AUTO_MIGRATE", "auto_migrate"),
    )
    host: str = Field(default="127.0.0.1", validation_alias=AliasChoices("ORDERBOT_HOST", "host"))
    port: int = Field(default=8080, validation_alias=AliasChoices("ORDERBOT_PORT", "port"))

    app_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("WHATSAPP_APP_SECRET", "app_secret")
    )
    verify_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("WHATSAPP_VERIFY_TOKEN", "verify_token")
    )
    access_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("WHATSAPP_ACCESS_TOKEN", "access_token")
    )
    phone_number_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("WHATSAPP_PHONE_NUMBER_ID", "phone_number_id"),
    )
    api_base_url: str = Field(
        default=GRAPH_API_BASE_URL,
        validation_alias=AliasChoices("WHATSAPP_API_BASE_URL", "api_base_url"),
    )

    merge_window_seconds: float = Field(
        default=2.0, ge=0, le=30,
        validation_alias=AliasChoices("ORDERBOT_MERGE_WINDOW_SECONDS", "merge_window_seconds"),
    )
    processing_concurrency: int = Field(  # message transactions in flight (bot.processing)
        default=4, ge=1, le=64,
        validation_alias=AliasChoices("ORDERBOT_PROCESSING_CONCURRENCY",
                                      "processing_concurrency"),
    )
    # Per-sender rate limit (bot.rate_limit), one bucket per sender for all server processes
    # (kept in the database): a sustained rate a minute and a burst a fast typist never
    # reaches; messages over it are stored, not processed. 0: off.
    rate_limit_per_minute: float = Field(
        default=30, ge=0,
        validation_alias=AliasChoices("ORDERBOT_RATE_LIMIT_PER_MINUTE", "rate_limit_per_minute"),
    )
    rate_limit_burst: int = Field(
        default=20, ge=1, le=10_000,
        validation_alias=AliasChoices("ORDERBOT_RATE_LIMIT_BURST", "rate_limit_burst"),
    )
    texts_path: Path | None = Field(  # a shop's rewording of bot/texts.yaml
        default=None, validation_alias=AliasChoices("ORDERBOT_TEXTS", "texts_path"),
    )

    # Conversation timers, in minutes; 0 switches one off (bot.timers).
    reminder_minutes: float = Field(
        default=15, ge=0,
        validation_alias=AliasChoices("ORDERBOT_REMINDER_MINUTES", "reminder_minutes"),
    )
    cart_expiry_minutes: float = Field(
        default=120, ge=0,
        validation_alias=AliasChoices("ORDERBOT_CART_EXPIRY_MINUTES", "cart_expiry_minutes"),
    )
    handoff_timeout_minutes: float = Field(
        default=60, ge=0,
        validation_alias=AliasChoices("ORDERBOT_HANDOFF_TIMEOUT_MINUTES",
                                      "handoff_timeout_minutes"),
    )
    timer_sweep_seconds: float = Field(  # how often due timers are looked for
        default=30, gt=0, le=3600,
        validation_alias=AliasChoices("ORDERBOT_TIMER_SWEEP_SECONDS", "timer_sweep_seconds"),
    )
    # Raw webhook payloads of processed messages are blanked after this many days (rows stay
    # for deduplication); 0 keeps them forever (bot.privacy_admin).
    payload_retention_days: float = Field(
        default=30, ge=0,
        validation_alias=AliasChoices("ORDERBOT_PAYLOAD_RETENTION_DAYS", "payload_retention_days"),
    )
    # An approved template (no variables) sent instead of a message that would go out after
    # WhatsApp's 24-hour window closed; unset: such messages are not sent (bot.window).
    reminder_template: str | None = Field(
        default=None, pattern=r"^[a-z0-9_]{1,512}$",
        validation_alias=AliasChoices("ORDERBOT_REMINDER_TEMPLATE", "reminder_template"),
    )
    # An approved template with one body variable ({{1}}) that carries an owner alert once the
    # owner's 24-hour window has closed (WhatsApp then refuses plain text, error 131047);
    # unset: such an alert is a dead letter, with a log line saying how to fix it.
    alert_template: str | None = Field(
        default=None, pattern=r"^[a-z0-9_]{1,512}$",
        validation_alias=AliasChoices("ORDERBOT_ALERT_TEMPLATE", "alert_template"),
    )
    template_language: str = Field(
        default="en", pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$",
        validation_alias=AliasChoices("ORDERBOT_TEMPLATE_LANGUAGE", "template_language"),
    )

    # Outbox delivery (bot.dispatcher, adapters.delivery): retries wait base, 2 base, 4 base ...
    # up to the cap (±25 % jitter); the poll finds rows written by other processes.
    retry_base_seconds: float = Field(
        default=1.0, gt=0, le=600,
        validation_alias=AliasChoices("ORDERBOT_RETRY_BASE_SECONDS", "retry_base_seconds"),
    )
    retry_max_seconds: float = Field(
        default=300.0, gt=0, le=86400,
        validation_alias=AliasChoices("ORDERBOT_RETRY_MAX_SECONDS", "retry_max_seconds"),
    )
    outbox_poll_seconds: float = Field(
        default=1.0, gt=0, le=3600,
        validation_alias=AliasChoices("ORDERBOT_OUTBOX_POLL_SECONDS", "outbox_poll_seconds"),
    )
    # A WhatsApp send whose answer was lost (timeout after the request went out) waits this
    # long for a status webhook proving it arrived before it is sent again (bot.dispatcher).
    uncertain_send_wait_seconds: float = Field(
        default=20.0, ge=0, le=3600,
        validation_alias=AliasChoices("ORDERBOT_UNCERTAIN_SEND_WAIT_SECONDS",
                                      "uncertain_send_wait_seconds"),
    )

    kitchen_webhook_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("ORDERBOT_KITCHEN_WEBHOOK_URL", "kitchen_webhook_url"),
    )
    kitchen_webhook_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("ORDERBOT_KITCHEN_WEBHOOK_SECRET", "kitchen_webhook_secret"),
    )
    # Where tickets go (adapters.base) and which lines each gets (bot.routing). Unset: "http"
    # when the webhook URL is set, as before adapters existed; else tickets are only stored.
    adapters: str | None = Field(
        default=None, validation_alias=AliasChoices("ORDERBOT_ADAPTERS", "adapters"),
    )
    routes: str | None = Field(  # "Drinks = printer; * = http"
        default=None, validation_alias=AliasChoices("ORDERBOT_ROUTES", "routes"),
    )
    printer_host: str | None = Field(  # an ESC/POS network printer (adapters.printer)
        default=None, validation_alias=AliasChoices("ORDERBOT_PRINTER_HOST", "printer_host"),
    )
    printer_port: int = Field(
        default=9100, ge=1, le=65535,
        validation_alias=AliasChoices("ORDERBOT_PRINTER_PORT", "printer_port"),
    )
    printer_width: int = Field(  # columns: 32 on 58 mm paper, 42 or 48 on 80 mm
        default=42, ge=20, le=80,
        validation_alias=AliasChoices("ORDERBOT_PRINTER_WIDTH", "printer_width"),
    )
    # More printers, each its own adapter printer:<name> (bot.named_printers):
    # "kitchen = 192.168.1.50; bar = 192.168.1.51:9100/32". Each one is always used.
    printers: str | None = Field(
        default=None, validation_alias=AliasChoices("ORDERBOT_PRINTERS", "printers"),
    )
    spool_dir: Path | None = Field(  # a folder of ticket files (adapters.spool)
        default=None, validation_alias=AliasChoices("ORDERBOT_SPOOL_DIR", "spool_dir"),
    )
    # Opens the kitchen display at /kitchen (adapters.kitchen_display); unset: no display.
    kitchen_display_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("ORDERBOT_KITCHEN_DISPLAY_TOKEN", "kitchen_display_token"),
    )

    # Reverse proxies whose X-Forwarded-* / Forwarded headers are believed (bot.proxy): addresses
    # or networks, comma-separated; unset: none, the server sees its peer as the client.
    trusted_proxies: str | None = Field(
        default=None,
        validation_alias=AliasChoices("ORDERBOT_TRUSTED_PROXIES", "trusted_proxies"),
    )
    # Every cookie Secure even when the request came over plain http (a proxy not listed above).
    secure_cookies: bool = Field(
        default=False,
        validation_alias=AliasChoices("ORDERBOT_SECURE_COOKIES", "secure_cookies"),
    )

    # A spreadsheet (.xlsx, or .csv) kept up to date with stock and the order log (adapters.sheet).
    stock_sheet: Path | None = Field(
        default=None, validation_alias=AliasChoices("ORDERBOT_STOCK_SHEET", "stock_sheet"),
    )

    @field_validator("stock_sheet")
    @classmethod
    def _sheet_format(cls, path: Path | None) -> Path | None:
        if path is not None and path.suffix.lower() not in (".xlsx", ".csv"):
            raise ValueError(f"{path.name} must end in .xlsx (Excel) or .csv")
        return path

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, text: str | None) -> str | None:
        parse_trusted_proxies(text)  # refused at start, naming the entry, not at the first request
        return text

    @field_validator("printers")
    @classmethod
    def _printer_entries(cls, text: str | None) -> str | None:
        try:
            parse_printers(text)  # refused at start, naming each bad entry
        except PrintersError as error:
            raise ValueError(str(error)) from None
        return text

    @model_validator(mode="after")
    def _adapters_and_routes_fit(self) -> Settings:
        try:
            adapters = self.ticket_adapters()
            named = [printer.adapter for printer in self.named_printers()]
            undefined = [name for name in adapters
                         if name.startswith(PRINTER_PREFIX) and name not in named]
            if undefined:
                raise ValueError(f"ORDERBOT_ADAPTERS: {undefined_printers(undefined, named)}")
            unknown = [name for name in adapters if name not in FACTORIES and name not in named]
            if unknown:
                raise ValueError(f"ORDERBOT_ADAPTERS: unknown adapter {', '.join(unknown)}; "
                                 f"choose from {', '.join([*known_adapters(), *named])}")
            self.ticket_routing()
        except RoutesError as error:
            raise ValueError(f"ORDERBOT_ADAPTERS / ORDERBOT_ROUTES: {error}") from None
        return self

    def ticket_adapters(self) -> tuple[str, ...]:
        """The configured ticket adapters, in order (see `adapters`), then every named printer
        not listed: an owner who defines a printer expects it to print."""
        if self.adapters and self.adapters.strip():
            listed = parse_adapter_names(self.adapters)
        else:
            # What each setting switched on before ORDERBOT_ADAPTERS existed.
            listed = tuple(name for name, on in (
                ("http", self.kitchen_webhook_url),
                ("display", self.secret("kitchen_display_token"))) if on)
        printers = tuple(printer.adapter for printer in self.named_printers())
        return listed + tuple(name for name in printers if name not in listed)

    def named_printers(self) -> tuple[NamedPrinter, ...]:
        """ORDERBOT_PRINTERS, in the order written (checked when the settings load)."""
        return parse_printers(self.printers)

    def ticket_routing(self) -> Routing:
        return Routing.parse(self.ticket_adapters(), self.routes)

    def missing_for_serve(self) -> list[str]:
        """Names of the required secrets that are not set (empty strings count as missing)."""
        values = {
            "WHATSAPP_APP_SECRET": self.app_secret,
            "WHATSAPP_VERIFY_TOKEN": self.verify_token,
            "WHATSAPP_ACCESS_TOKEN": self.access_token,
            "WHATSAPP_PHONE_NUMBER_ID": self.phone_number_id,
        }
        missing = []
        for name in REQUIRED_FOR_SERVE:
            value = values[name]
            text = value.get_secret_value() if isinstance(value, SecretStr) else value
            if not text:
                missing.append(name)
        if self.kitchen_webhook_url and not self.kitchen_webhook_secret:
            missing.append("ORDERBOT_KITCHEN_WEBHOOK_SECRET")
        adapters = self.ticket_adapters()
        needs = (("http", "ORDERBOT_KITCHEN_WEBHOOK_URL", self.kitchen_webhook_url),
                 ("printer", "ORDERBOT_PRINTER_HOST", self.printer_host),
                 ("spool", "ORDERBOT_SPOOL_DIR", self.spool_dir),
                 ("display", "ORDERBOT_KITCHEN_DISPLAY_TOKEN", self.kitchen_display_token))
        missing += [name for adapter, name, value in needs if adapter in adapters and not value]
        return missing

    def secret(self, name: str) -> str:
        """The plain value of a secret field ('' when unset); only for signing and auth headers."""
        value = getattr(self, name)
        return value.get_secret_value() if isinstance(value, SecretStr) else ""

    def secret_values(self) -> list[str]:
        """Every secret that is set, for the log redactor (bot.logs.redact_secrets)."""
        values = (getattr(self, name) for name in type(self).model_fields)
        found = [v.get_secret_value() for v in values
                 if isinstance(v, SecretStr) and v.get_secret_value()]
        with contextlib.suppress(ValueError):  # a malformed URL has no password to hide
            password = urlsplit(self.database_url).password
            if password:
                found.append(password)
        return found


class LogSettings(_OrderbotSources):
    """ORDERBOT_LOG_FORMAT and ORDERBOT_LOG_LEVEL, read apart from Settings: the command line sets
    logging up before any command runs, and a command that needs no settings (`parse`) must not
    fail on an unrelated one. None: the command's own default (JSON for `serve`, else text)."""

    model_config = SettingsConfigDict(toml_file="orderbot.toml", extra="ignore", frozen=True)

    log_format: Literal["json", "text"] | None = Field(
        default=None, validation_alias=AliasChoices("ORDERBOT_LOG_FORMAT", "log_format"))
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] | None = Field(
        default=None, validation_alias=AliasChoices("ORDERBOT_LOG_LEVEL", "log_level"))

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip()
            return value.upper() if value.lower() in _LEVEL_NAMES else value.lower() or None
        return value


_LEVEL_NAMES = ("debug", "info", "warning", "error", "critical")


class ConfigError(Exception):
    """The settings are not usable; the message names what to set."""


def load_log_settings() -> LogSettings:
    try:
        return LogSettings()
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                             for e in error.errors(include_input=False))
        raise SystemExit(f"orderbot: configuration error: {problems}") from None


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                             for e in error.errors(include_input=False))
        raise SystemExit(f"orderbot: configuration error: {problems}") from None
