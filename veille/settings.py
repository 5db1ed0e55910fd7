"""The one place settings come from: VEILLE_* environment variables and an optional .env.

Built once by the entry point (CLI, web app, scheduler) and passed down; no module-level
instance. Every field here is listed in the README's settings table (a test checks it).
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import re
import secrets
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from veille.errors import ConfigError

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
SECRET_FIELDS = {"smtp_url", "secret_key", "database_url"}  # never echoed in an error


def check_database_url(url: str) -> None:
    """ValueError with the fix when `url` is not one veille can open (scheme, driver)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if url.startswith("postgres://"):
        raise ValueError("write postgresql:// instead of postgres://")
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        raise ValueError(
            "not a database URL; use sqlite:///path/veille.db or "
            "postgresql://user:password@host:5432/veille"
        ) from None
    if backend not in ("sqlite", "postgresql"):
        raise ValueError(
            f"{backend} is not supported; use sqlite:///path/veille.db or postgresql://…"
        )
    if backend == "postgresql" and importlib.util.find_spec("psycopg") is None:
        raise ValueError(
            "PostgreSQL needs its driver, which is not installed: pip install 'veille[postgres]'"
        )


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKDAYS_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


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
    digest_time: str = Field("07:00", description="Local send time, HH:MM")
    timezone: str = Field(
        "Europe/Paris",
        description="Time zone of the digest schedule, and of the dates and days the web app shows",
    )
    digest_cap: int = Field(10, ge=1, description="Entries per topic before 'N more on the web'")
    send_empty: bool = Field(False, description="Send a digest even when no item is in scope")
    secret_key: SecretStr | None = Field(
        None, description="Signs links and sessions; default: generated into DATA_DIR/secret.key"
    )
    language: Literal["fr", "en"] = Field("fr", description="Default language of what users read")

    # Logs
    log_format: Literal["text", "json"] = Field("text", description="text or json")
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR")

    # Faults and abuse (issue 17)
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated CIDR ranges of proxies whose X-Forwarded-For is believed",
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="More Host names the web app answers to than BASE_URL's and localhost; * = any",
    )
    max_entries_per_fetch: int = Field(
        1000, ge=1, description="Feed entries one fetch turns into items at most, newest first"
    )

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return value

    def web_hosts(self) -> list[str]:
        """Hosts the web app answers to: BASE_URL's, loopback names and the setting's."""
        from urllib.parse import urlsplit

        own = urlsplit(self.base_url).hostname or "localhost"
        return list(dict.fromkeys([own, "localhost", "127.0.0.1", *self.allowed_hosts]))

    # Operations (veille doctor, /healthz)
    pull_stale_hours: int = Field(
        6, ge=1, description="Hours without a successful pull before /healthz and doctor fail"
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().upper()
            if value not in LOG_LEVELS:
                raise ValueError("use DEBUG, INFO, WARNING or ERROR")
        return value

    @field_validator("database_url", mode="before")
    @classmethod
    def _database(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip() or None
        if isinstance(value, str):
            check_database_url(value)
        return value

    @field_validator("smtp_url", mode="before")
    @classmethod
    def _smtp(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                return None  # compose passes `VEILLE_SMTP_URL=` for "no SMTP"
            parts = urlsplit(value.strip())
            if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
                raise ValueError(
                    "use smtp://user:password@host:587 (STARTTLS) or smtps://user:password@host:465"
                )
            try:
                parts.port  # noqa: B018  (raises on a port that is not a number)
            except ValueError:
                raise ValueError(
                    "the port must be a number up to 65535, e.g. smtp://host:587"
                ) from None
        return value

    @field_validator("secret_key", "reply_to", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `VEILLE_SECRET_KEY=` in .env means "not set" (generate one), never an empty key.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("base_url", mode="before")
    @classmethod
    def _base(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().rstrip("/")
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("use the full public address, e.g. https://veille.example.org")
        return value

    @field_validator("digest_time")
    @classmethod
    def _time(cls, value: str) -> str:
        match = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip())
        if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
            raise ValueError("use a time of day HH:MM between 00:00 and 23:59, e.g. 07:00")
        return f"{int(match.group(1)):02d}:{match.group(2)}"

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("use a time zone name such as Europe/Paris") from None
        return value

    # Newsletter: branding, weekly issues, reader feedback, bounces (h-news)
    newsletter_name: str = Field(
        "", max_length=80, description="Name of the newsletter; empty = 'Veille' in its language"
    )
    sender_name: str = Field(
        "", max_length=80, description="Display name in From; empty = the newsletter name"
    )
    logo: Path | None = Field(
        None, description="PNG, JPEG, GIF or WebP file (at most 200 kB) shown atop every issue"
    )
    accent_color: str = Field("#2b5fa8", description="Accent colour, #rgb or #rrggbb")
    association_name: str = Field("", max_length=120, description="Who sends it, in the footer")
    postal_address: str = Field("", max_length=300, description="Postal address in the footer")
    footer_reason: str = Field(
        "", max_length=300, description="Why readers receive it; empty = a neutral sentence"
    )
    weekly_day: str = Field("monday", description="Day the weekly issue goes out (monday…)")
    feedback_per_hour: int = Field(
        30, ge=1, description="'Off topic?' reports accepted per client address and hour"
    )
    bounce_maildir: Path | None = Field(
        None, description="Maildir folder where bounce reports (DSN) arrive; read by the scheduler"
    )
    soft_bounce_limit: int = Field(
        3, ge=1, description="Temporary bounces in a row before an address is suspended"
    )

    @field_validator("logo")
    @classmethod
    def _check_logo(cls, value: Path | None) -> Path | None:
        if value is None or str(value) == "":
            return None
        return check_logo(Path(value))

    @field_validator("accent_color")
    @classmethod
    def _check_colour(cls, value: str) -> str:
        value = value.strip()
        if not re.fullmatch(r"#(?:[0-9a-fA-F]{3}){1,2}", value):
            raise ValueError("not a colour: use #rrggbb or #rgb, such as #2b5fa8 or #c30")
        return value.lower()

    @field_validator("weekly_day")
    @classmethod
    def _check_day(cls, value: str) -> str:
        day = value.strip().lower()
        if day not in WEEKDAYS and day not in WEEKDAYS_FR:
            raise ValueError("not a day of the week: use monday … sunday or lundi … dimanche")
        return WEEKDAYS[WEEKDAYS_FR.index(day)] if day in WEEKDAYS_FR else day

    @property
    def weekly_weekday(self) -> int:
        """The weekly day as date.weekday() counts it (Monday = 0)."""
        return WEEKDAYS.index(self.weekly_day)

    # Digest policy: precision first (veille/digest/hold.py)
    digest_policy: Literal["hold", "send"] = Field(
        "hold",
        description="hold: unsure items and items of barely taught sources wait for a curator; "
        "send: the classifier's call goes out",
    )
    new_source_reviews: int = Field(
        10, ge=0, description="Curator-judged items a source needs before its items go out alone"
    )

    # Where the work runs (issue 14): in this process, or in `veille worker`s sharing PostgreSQL
    executor: Literal["local", "procrastinate"] = Field(
        "local",
        description="local: one process runs every job; procrastinate: `veille worker` processes "
        "on any number of machines share the jobs through PostgreSQL",
    )

    @field_validator("executor", mode="before")
    @classmethod
    def _executor(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().lower()
            if value not in ("local", "procrastinate"):
                raise ValueError("use local (one process) or procrastinate (veille worker)")
        return value

    @model_validator(mode="after")
    def _executor_needs_postgres(self) -> Settings:
        if self.executor == "procrastinate" and not self.db_url.startswith("postgresql"):
            # A model-level error has no field: one_line() prints the message as it is.
            raise PydanticCustomError(
                "executor",
                "VEILLE_EXECUTOR='procrastinate': the queue lives in PostgreSQL; set "
                "VEILLE_DATABASE_URL=postgresql://user:password@host:5432/veille "
                "or VEILLE_EXECUTOR=local",
            )
        return self

    @field_validator("allow_networks", "trusted_proxies", mode="before")
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


LOGO_MAX_BYTES = 200_000
_IMAGE_MAGIC = {
    b"\x89PNG\r\n\x1a\n": "png",
    b"\xff\xd8\xff": "jpeg",
    b"GIF87a": "gif",
    b"GIF89a": "gif",
}


def image_kind(head: bytes) -> str | None:
    """png, jpeg, gif or webp from a file's first bytes; None for anything else."""
    for magic, kind in _IMAGE_MAGIC.items():
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def check_logo(path: Path) -> Path:
    """The logo must be a small raster image: it is embedded in every email sent."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise ValueError(f"cannot read the logo file {str(path)!r}: {exc.strerror}") from None
    if image_kind(head) is None:
        raise ValueError(f"{str(path)!r} is not a PNG, JPEG, GIF or WebP image")
    if size > LOGO_MAX_BYTES:
        raise ValueError(
            f"{str(path)!r} weighs {size // 1000} kB; a logo goes into every email: "
            f"make it at most {LOGO_MAX_BYTES // 1000} kB"
        )
    return path


def _mask_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def _mask_password(url: str) -> str:
    """`scheme://user:***@host…`: a URL shown in an error without its password."""
    return re.sub(r"^([a-z0-9+.-]*:/*[^/@:]*:)[^/@]*@", r"\1***@", url, flags=re.I)


def load_settings(**overrides: object) -> Settings:
    """Build Settings, turning a validation error into one line naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(one_line(exc)) from None


def one_line(exc: ValidationError) -> str:
    """`VEILLE_X='value': what is wrong and the fix` (secrets and passwords not echoed)."""
    err = exc.errors()[0]
    if not err["loc"]:  # a check across fields (VEILLE_EXECUTOR): its message names them
        return err["msg"]
    field = str(err["loc"][0]) if err["loc"] else "?"
    msg = err["msg"].removeprefix("Value error, ")
    value = err.get("input")
    if field in SECRET_FIELDS and isinstance(value, str):
        shown = repr(_mask_password(value)) if field != "secret_key" else "(hidden)"
    else:
        shown = repr(value)
    return f"VEILLE_{field.upper()}={shown}: {msg}"
