"""The one place settings come from: VEILLE_* environment variables and an optional .env.

Built once by the entry point (CLI, web app, scheduler) and passed down; no module-level
instance. Every field here is listed in the README's settings table (a test checks it).
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from veille.errors import ConfigError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="VEILLE_", env_file=".env", extra="ignore", validate_default=True
    )

    # Where things live
    data_dir: Path = Field(Path("data"), description="Folder for the SQLite file, outbox, archive")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default sqlite:///DATA_DIR/veille.db (WAL mode)"
    )
    sources: Path = Field(Path("feeds.yaml"), description="Path of the sources file")
    models_dir: Path = Field(
        None,  # type: ignore[arg-type]  # set from data_dir below
        description="Folder of the models trained here; default DATA_DIR/models (the seed "
        "model shipped in the package serves until one is promoted)",
    )

    # Fetching politely
    user_agent: str = Field(
        "veille/0.1 (+https://github.com/veille-news/veille)",
        description="User-Agent sent with every request, with a contact URL",
    )
    max_connections: int = Field(256, ge=1, description="Requests in flight at once, all hosts")
    max_per_host: int = Field(4, ge=1, description="Requests in flight at once to one host")
    connect_timeout: float = Field(10.0, gt=0, description="Seconds to open a connection")
    read_timeout: float = Field(20.0, gt=0, description="Seconds between two reads of a body")
    total_timeout: float = Field(60.0, gt=0, description="Seconds for a whole request")
    max_feed_bytes: int = Field(10_000_000, ge=1024, description="Largest feed body read")
    max_page_bytes: int = Field(5_000_000, ge=1024, description="Largest article page read")
    max_redirects: int = Field(5, ge=0, description="Redirects followed before giving up")
    retries: int = Field(2, ge=0, description="Retries on timeouts and 5xx, with backoff")
    allow_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated CIDR ranges fetched despite the private-address guard",
    )
    extract_workers: int = Field(0, ge=0, description="Extraction processes; 0 = one per core")
    fetch_articles: bool = Field(
        True, description="Fetch each new item's page for its full text; false = feed text only"
    )

    # Stories
    dedupe_window_days: int = Field(7, ge=1, description="Days within which items may merge")

    # Digest and delivery
    base_url: str = Field("http://localhost:8000", description="Public URL of the web app")
    smtp_url: SecretStr | None = Field(
        None, description="smtp://user:pass@host:587 (STARTTLS) or smtps://…; unset = outbox"
    )
    mail_from: str = Field("veille@localhost", description="From address of every email")
    reply_to: str | None = Field(None, description="Reply-To address of digests")
    send_rate: float = Field(10.0, gt=0, description="Emails sent per second at most")
    digest_time: str = Field("07:00", pattern=r"^\d{2}:\d{2}$", description="Local send time")
    timezone: str = Field("Europe/Paris", description="Time zone of the digest schedule")
    digest_cap: int = Field(10, ge=1, description="Entries per topic before 'N more on the web'")
    send_empty: bool = Field(False, description="Send a digest even when no item is in scope")
    secret_key: SecretStr | None = Field(
        None, description="Signs links and sessions; default: generated into DATA_DIR/secret.key"
    )
    language: Literal["fr", "en"] = Field("fr", description="Default language of what users read")

    # Logs
    log_format: Literal["text", "json"] = Field("text", description="text or json")
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR")

    @field_validator("allow_networks", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        for cidr in value or []:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError as exc:
                raise ValueError(f"{cidr!r} is not a CIDR range such as 127.0.0.0/8") from exc
        return value

    @field_validator("models_dir", mode="before")
    @classmethod
    def _models_in_data(cls, value: object, info: ValidationInfo) -> object:
        if value is None or value == "":
            return Path(info.data.get("data_dir") or "data") / "models"
        return value

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'veille.db'}"

    def secret(self) -> str:
        """The signing key: the setting, else one generated once and kept in the data folder."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / "secret.key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key)
        return key

    def masked(self) -> dict[str, str]:
        """Effective settings as strings, secrets (and passwords inside URLs) hidden."""
        out: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                text = "********"
            elif name == "database_url":
                text = _mask_url(self.db_url)
            elif isinstance(value, list):
                text = ",".join(map(str, value))
            else:
                text = "" if value is None else str(value)
            out[name] = text
        return out


def _mask_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def load_settings(**overrides: object) -> Settings:
    """Build Settings, turning a validation error into one line naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "?"
        raise ConfigError(
            f"VEILLE_{field.upper()}: {err['msg']} (got {err.get('input')!r})"
        ) from None
