"""Settings: the documented variable names, defaults, toml file, and secrets kept secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import GRAPH_API_BASE_URL, SAMPLE_CATALOG, Settings

ALL_VARS = ["ORDERBOT_CATALOG", "ORDERBOT_DATABASE_URL", "ORDERBOT_HOST", "ORDERBOT_PORT",
            "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN", "WHATSAPP_ACCESS_TOKEN",
            "WHATSAPP_PHONE_NUMBER_ID", "WHATSAPP_API_BASE_URL", "ORDERBOT_KITCHEN_WEBHOOK_URL",
            "ORDERBOT_KITCHEN_WEBHOOK_SECRET"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ALL_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray orderbot.toml


def test_defaults() -> None:
    settings = Settings()
    assert settings.catalog_path == SAMPLE_CATALOG
    assert settings.database_url == "sqlite:///orderbot.db"
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.api_base_url == GRAPH_API_BASE_URL
    assert settings.missing_for_serve() == ["WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN",
                                            "WHATSAPP_ACCESS_TOKEN", "WHATSAPP_PHONE_NUMBER_ID"]


def test_every_documented_variable_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    values = {"ORDERBOT_CATALOG": "/tmp/menu.yaml", "ORDERBOT_DATABASE_URL": "sqlite:///x.db",
              "ORDERBOT_HOST": "0.0.0.0", "ORDERBOT_PORT": "9000",
              "WHATSAPP_APP_SECRET": "s1", "WHATSAPP_VERIFY_TOKEN": "s2",
              "WHATSAPP_ACCESS_TOKEN": "s3", "WHATSAPP_PHONE_NUMBER_ID": "123",
              "WHATSAPP_API_BASE_URL": "http://127.0.0.1:1/v23.0",
              "ORDERBOT_KITCHEN_WEBHOOK_URL": "http://k/", "ORDERBOT_KITCHEN_WEBHOOK_SECRET": "s4"}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.catalog_path == Path("/tmp/menu.yaml")
    assert settings.port == 9000 and settings.host == "0.0.0.0"
    assert settings.secret("app_secret") == "s1" and settings.secret("verify_token") == "s2"
    assert settings.secret("access_token") == "s3" and settings.phone_number_id == "123"
    assert settings.api_base_url == "http://127.0.0.1:1/v23.0"
    assert settings.kitchen_webhook_url == "http://k/"
    assert settings.secret("kitchen_webhook_secret") == "s4"
    assert settings.missing_for_serve() == []


def test_secrets_never_show_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHATSAPP_APP_SECRET", "very-secret-value")
    monkeypatch.setenv("WHATSAPP_ACCESS_TOKEN", "EAAG-token-value")
    settings = Settings()
    assert "very-secret-value" not in repr(settings) + str(settings)
    assert "EAAG-token-value" not in repr(settings) + str(settings)


def test_toml_file_is_read_and_environment_wins(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    (tmp_path / "orderbot.toml").write_text(
        'WHATSAPP_APP_SECRET = "from-file"\nORDERBOT_PORT = 9100\n'
        'WHATSAPP_PHONE_NUMBER_ID = "555"\n')
    monkeypatch.setenv("ORDERBOT_PORT", "9200")
    settings = Settings()
    assert settings.secret("app_secret") == "from-file"
    assert settings.phone_number_id == "555"
    assert settings.port == 9200


def test_kitchen_url_without_secret_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERBOT_KITCHEN_WEBHOOK_URL", "http://k/")
    assert "ORDERBOT_KITCHEN_WEBHOOK_SECRET" in Settings().missing_for_serve()
