"""Settings of storage: the database and InfluxDB."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from gateway.settings.base import Section


class DatabaseSettings(Section):
    """Where the gateway keeps its state."""

    url: str = Field(
        "",
        description="sqlite:///relative/path or sqlite:////absolute/path; empty: scgw.db in "
        "`data_dir`; postgresql://user:password@host:port/database (any libpq URL or "
        "parameter, e.g. ?sslmode=require) selects PostgreSQL",
    )
    pool_size: int = Field(
        8, ge=1, le=200,
        description="PostgreSQL only: read connections the API's snapshots share (the writer "
        "has its own); SQLite opens one read connection per thread instead",
    )
    telemetry_retention_days: int = Field(
        30, ge=1, le=3650, description="Telemetry older than this is pruned"
    )
    dead_letter_retention_days: int = Field(
        30, ge=1, le=3650, description="Dead letters older than this are pruned"
    )
    sign_in_retention_days: int = Field(
        180, ge=90, le=3650,
        description="Sign-in attempts (the admin audit's login log) older than this are "
        "pruned; at least 90 days",
    )
    twin_checkpoint_s: float = Field(
        5.0, gt=0, le=300,
        description="How often twins changed by messages are written (256 per transaction); "
        "after a crash their readings (last seen, battery, location, last telemetry) can be "
        "about this far behind the stored messages. Presence changes are written at once, "
        "and every twin at a clean stop",
    )

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        if url and not url.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("database.url must start with sqlite:///, postgresql:// or "
                             f"postgres://, got {url.split('://')[0]!r}://…")
        return url

    @property
    def backend(self) -> Literal["sqlite", "postgres"]:
        """Which store the URL selects (empty: SQLite)."""
        return "postgres" if self.url.startswith(("postgresql://", "postgres://")) else "sqlite"

    @property
    def sqlite_path(self) -> Path:
        """File path of a sqlite URL."""
        if not self.url.startswith("sqlite:///"):
            raise ValueError(f"not a sqlite:/// URL: {self.url!r}")
        return Path(self.url.removeprefix("sqlite:///"))


class InfluxSettings(Section):
    """Optional InfluxDB 2.x/3.x telemetry history (unused when `url` is empty)."""

    url: str = Field("", description="http(s)://host:port of InfluxDB; empty disables it")
    org: str = Field("scgw", description="InfluxDB organisation")
    bucket: str = Field("telemetry", description="Bucket for telemetry points")
    token: SecretStr | None = Field(None, description="API token (from the environment)")
    buffer_file: Path = Field(
        Path("influx-buffer.sqlite"),
        description="On-disk queue of points not yet written; relative paths are under data_dir",
    )
    buffer_max_points: int = Field(
        1_000_000, ge=100, description="Buffer bound; when full the oldest points are dropped"
    )
    batch_size: int = Field(5000, ge=1, le=100_000, description="Points per write request")
    flush_interval_s: float = Field(
        1.0, gt=0, le=300, description="Longest a point waits in the buffer before a write"
    )
    timeout_s: float = Field(10.0, gt=0, le=300, description="HTTP timeout of one request")
    retry_min_s: float = Field(1.0, gt=0, description="First retry delay after a failed write")
    retry_max_s: float = Field(60.0, gt=0, description="Retry delay ceiling (jittered)")
    stats_interval_s: float = Field(
        60.0, gt=0, description="How often devices-online counts are written (`gateway` points)"
    )
    flux_reads: bool = Field(
        True,
        description="Read history older than the embedded retention with Flux (2.x; off for 3.x)",
    )

    @field_validator("url")
    @classmethod
    def _http_scheme(cls, value: str) -> str:
        if value and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("influx url must start with http:// or https://")
        return value.rstrip("/")
