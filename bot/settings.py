"""Configuration from the environment and `.env`, validated once and passed down."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import pytz
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.logging_setup import url_password

_TOKEN = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{10,}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class SettingsError(ValueError):
    """A setting is missing or invalid; the message is one line naming it."""


class Settings(BaseSettings):
    """Every setting branchbot reads; `.env.example` documents each one."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", env_ignore_empty=True, extra="ignore"
    )

    bot_token: SecretStr | None = None
    database_url: str = "sqlite:///branchbot.db"
    telegram_api_base: str = "https://api.telegram.org/bot"
    telegram_api_file_base: str | None = None
    default_timezone: str = "Asia/Shanghai"
    default_locale: Literal["zh_CN", "en"] = "zh_CN"
    # Comma-separated numeric ids; NoDecode stops pydantic-settings reading it as JSON.
    admin_telegram_ids: Annotated[tuple[int, ...], NoDecode] = ()
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    invite_ttl_days: int = Field(default=7, ge=1, le=365)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Reminder fan-out pacing (Telegram: ~30 msg/s overall, 1/s per chat, 20/min per group).
    send_rate_per_s: float = Field(default=25.0, gt=0)
    private_rate_per_s: float = Field(default=1.0, gt=0)
    group_rate_per_min: float = Field(default=20.0, gt=0)
    # How often the dispatcher's safety sweep runs, in seconds.
    dispatch_interval_s: float = Field(default=30.0, gt=0)
    # How many updates (people) are handled at the same time; one person's stay in order.
    max_concurrent_updates: int = Field(default=128, ge=1, le=1024)
    log_format: Literal["text", "json"] = "text"
    # Flood gate: updates one person may send at once, and refilled per second; a group chat's
    # messages get the same burst at half the rate.
    flood_burst: int = Field(default=20, ge=1)
    flood_per_second: float = Field(default=1.0, gt=0)
    # /healthz and /metrics on a port of their own (`run --health-port`); none when unset.
    health_port: int | None = Field(default=None, ge=1, le=65535)
    health_listen: str = "127.0.0.1"

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            pytz.timezone(value)
        except pytz.UnknownTimeZoneError:
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("admin_telegram_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            if not all(p.lstrip("-").isdigit() for p in parts):
                raise ValueError("expected numeric Telegram ids separated by commas")
            return tuple(int(p) for p in parts)
        return value

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _TOKEN.match(value.get_secret_value()):
            raise ValueError("does not look like a token from @BotFather (123456:ABC...)")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _SECRET.match(value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z a-z 0-9 _ -")
        return value

    @field_validator("telegram_api_base")
    @classmethod
    def _http_base(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    def secret_values(self) -> list[str]:
        """What must never appear in any output: token, webhook secret, database password."""
        values = [v.get_secret_value() for v in (self.bot_token, self.webhook_secret) if v]
        password = url_password(self.database_url)
        return [*values, password] if password else values

    def token(self) -> str:
        """The bot token, or a SettingsError saying how to set it."""
        if self.bot_token is None:
            raise SettingsError(
                "BOT_TOKEN is not set: get one from @BotFather and put BOT_TOKEN=... in .env"
            )
        return self.bot_token.get_secret_value()


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning a validation error into one clear line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{name}: {message}") from None
