"""Gateway settings: environment (`SCGW_*`), an optional YAML file, and validated defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from devices.catalogue import DECLARED
from gateway.workflow.config import WorkflowSettings

DEV_JWT_SECRET = "development-only-secret-change-me"
MIN_JWT_SECRET = 32  # characters of a production signing key
DEV_PLATE_KEY = "development-only-plate-key-change-me"
# Request categories a resident may pick on the door-plate page (keys of the workflow's
# catalogue): the everyday matters. Alarms (SOS, falls, fire) come from devices or 110/119/120.
RESIDENT_CATEGORIES = ["property", "sanitation", "water_leak", "access", "fire_lane",
                       "falling_object", "illegal_construction", "device_fault", "other"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BrokerSettings(_Section):
    """How the gateway reaches the MQTT broker."""

    url: str = Field(
        "",
        description="mqtt://host:port or mqtts://host:port; empty runs the embedded broker",
    )
    device_url: str = Field(
        "",
        description="The broker address devices use (e.g. mqtts://mqtt.example.cn:8883), "
        "published in the AsyncAPI document; empty: the gateway's own `url`",
    )
    username: str | None = Field(None, description="MQTT username of the gateway")
    password: SecretStr | None = Field(None, description="MQTT password (from the environment)")
    client_id: str = Field("scgw-gateway", description="MQTT client id; keeps the session")
    protocol: Literal["5", "3.1.1"] = Field(
        "5", description="MQTT protocol version; 5 lets the gateway bound in-flight messages"
    )
    tls_ca_file: Path | None = Field(None, description="CA bundle for mqtts:// brokers")
    tls_cert_file: Path | None = Field(None, description="Client certificate for mutual TLS")
    tls_key_file: Path | None = Field(None, description="Client key for mutual TLS")
    tls_insecure: bool = Field(False, description="Skip hostname verification (testing only)")
    shared_group: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Join `$share/<group>/…` so several gateway processes split the load",
    )
    session_expiry_s: int = Field(
        7 * 86_400, ge=0, description="How long the broker keeps our session while we are away"
    )
    keepalive_s: int = Field(30, ge=5, le=600, description="MQTT keepalive")
    reconnect_min_s: float = Field(0.5, gt=0, description="First reconnect delay")
    reconnect_max_s: float = Field(30.0, gt=0, description="Reconnect delay ceiling (jittered)")

    @property
    def host(self) -> str:
        """Host part of the URL."""
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        """Port part of the URL, defaulting by scheme."""
        parts = urlsplit(self.url)
        return parts.port or (8883 if parts.scheme == "mqtts" else 1883)

    @property
    def tls(self) -> bool:
        """Whether the URL asks for TLS."""
        return urlsplit(self.url).scheme == "mqtts"

    @field_validator("url")
    @classmethod
    def _scheme(cls, value: str) -> str:
        if value and urlsplit(value).scheme not in ("mqtt", "mqtts"):
            raise ValueError("broker url must start with mqtt:// or mqtts://")
        return value


class ProvisioningSettings(_Section):
    """Device credentials in Mosquitto's dynamic-security plugin (vendor self-service)."""

    enabled: bool = Field(
        False, description="Create per-device MQTT accounts when devices are registered"
    )
    admin_username: str = Field(
        "scgw-dynsec", description="Broker account allowed to use $CONTROL/dynamic-security"
    )
    admin_password: SecretStr | None = Field(
        None, description="Its password (from the environment)"
    )
    admin_timeout_s: float = Field(
        10.0, gt=0, le=120,
        description="How long a dynamic-security command may take before registration fails "
        "(HTTP 502, nothing changed)",
    )


class EmbeddedBrokerSettings(_Section):
    """The pure-Python broker started when no broker URL is set (demo, laptops)."""

    host: str = Field("127.0.0.1", description="Bind address of the embedded broker")
    port: int = Field(1883, ge=1, le=65535, description="Port of the embedded broker")


class DatabaseSettings(_Section):
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


class InfluxSettings(_Section):
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


class ApiSettings(_Section):
    """HTTP API bind address and token settings."""

    host: str = Field("127.0.0.1", description="Bind address of the HTTP API")
    interactive_share: float = Field(
        0.5, ge=0, le=0.9,
        description="Largest share of the ingest thread's time it gives to HTTP requests in "
        "flight, stepping aside between messages so pages stay quick during a backlog drain "
        "(they share one interpreter); 0 turns it off",
    )
    port: int = Field(8080, ge=1, le=65535, description="Port of the HTTP API")
    jwt_secret: SecretStr = Field(
        SecretStr(DEV_JWT_SECRET), description="Signing key of access tokens (from the environment)"
    )
    token_ttl_s: int = Field(900, ge=60, le=86_400, description="Lifetime of an access token")
    session_idle_s: dict[str, int] = Field(
        default_factory=lambda: {"admin": 1800, "operator": 3600, "grid_worker": 7200,
                                 "family": 1800, "vendor": 1800},
        description="Per role: a sign-in session unused this long (no request, no refresh) "
        "ends; the pages refresh their access token silently while open",
    )
    session_absolute_s: dict[str, int] = Field(
        default_factory=lambda: {"admin": 43_200, "operator": 43_200, "grid_worker": 43_200,
                                 "family": 604_800, "vendor": 43_200},
        description="Per role: a sign-in session ends this long after the password was "
        "typed, however busy (a control-room shift: 12 h)",
    )
    cookie_secure: bool | None = Field(
        None,
        description="Mark the refresh-token cookie Secure; unset: when the request came over "
        "HTTPS (set true behind a TLS-terminating proxy)",
    )
    incident_window_s: int = Field(
        1800, ge=0, le=86_400,
        description="Console: alerts of one resident (or one place) opened within this long "
        "of each other are shown as one incident",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses of reverse proxies whose X-Forwarded-For / X-Forwarded-Proto "
        "are believed (e.g. [\"127.0.0.1\"] behind a local nginx); empty: forwarded headers "
        "are ignored and the TCP peer is the client address used for throttling and audit",
    )
    metrics_token: SecretStr | None = Field(
        None,
        description="Bearer token a Prometheus scraper sends to the API's /metrics (from the "
        "environment). Without it /metrics answers only in development; in production use "
        "this or `metrics_port`",
    )
    public_docs: bool | None = Field(
        None,
        description="Serve /docs, /redoc, /openapi.json and /asyncapi.json to anyone; unset: "
        "yes in development, no in production (then the JSON documents need a login and the "
        "HTML pages are off)",
    )
    login_free_failures: int = Field(
        3, ge=1, le=100,
        description="Wrong passwords allowed per (username, client address) before back-off",
    )
    login_backoff_max_s: float = Field(
        900.0, ge=1, le=86_400,
        description="Longest wait imposed after repeated wrong passwords (doubling from 5 s)",
    )
    sitemap_file: Path | None = Field(
        None,
        description="JSON site map (buildings, fire lanes, gates, places in lat/lon) served at "
        "/sitemap for the web console; written by `python -m simulators.community.export`",
    )


class PlateSettings(_Section):
    """Digital door plates (数字门牌码): signed QR links, the resident page and its limits."""

    token_key: SecretStr | None = Field(
        None,
        description="HMAC key the plate links are signed with, together with each plate's own "
        "secret (from the environment). Unset: a development key in development, and in "
        "production the plate page and `scgw plates export` refuse to work; the development "
        "key itself is refused in production. Changing it invalidates every printed plate",
    )
    public_url: str | None = Field(
        None,
        description="Address residents' phones reach the gateway at, printed in the QR codes "
        "(e.g. https://sq.example.cn); unset: http://<api.host>:<api.port> (development only)",
    )
    categories: list[str] = Field(
        default_factory=lambda: list(RESIDENT_CATEGORIES),
        description="Catalogue categories a resident may choose on the plate page, in order",
    )
    per_plate: list[tuple[int, int]] = Field(
        default_factory=lambda: [(60, 3), (3600, 10), (86_400, 30)],
        description="Accepted requests per plate: [window seconds, most] pairs; the excess is "
        "refused with the time to wait",
    )
    per_address: list[tuple[int, int]] = Field(
        default_factory=lambda: [(60, 30), (3600, 300)],
        description="Attempts per client address (any plate, refused ones too): [window "
        "seconds, most] pairs. Generous: a compound's Wi-Fi or a carrier NAT shares addresses",
    )
    max_body_bytes: int = Field(
        12 * 1024 * 1024, ge=64 * 1024, le=64 * 1024 * 1024,
        description="Largest request accepted from the plate page (photo included)",
    )
    photo_max_bytes: int = Field(
        10 * 1024 * 1024, ge=64 * 1024, le=60 * 1024 * 1024,
        description="Largest photo file accepted before re-encoding",
    )
    photo_max_side_px: int = Field(
        1600, ge=320, le=4096, description="Photos are scaled down to this longest side"
    )
    track_days_after_close: int = Field(
        30, ge=1, le=3650,
        description="A tracking link keeps working this many days after its request closed",
    )
    font_file: Path | None = Field(
        None,
        description="CJK font for the printed plates (.ttc/.otf/.ttf); unset: Noto Sans CJK SC "
        "from Debian's fonts-noto-cjk",
    )

    @field_validator("token_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("plates.token_key needs at least 16 characters")
        return value

    @field_validator("per_plate", "per_address")
    @classmethod
    def _positive(cls, value: list[tuple[int, int]]) -> list[tuple[int, int]]:
        if any(window <= 0 or most <= 0 for window, most in value):
            raise ValueError("limits are [window seconds > 0, most > 0] pairs")
        return value


class LimitSettings(_Section):
    """Per-message limits and the ingest queue."""

    max_payload_bytes: int = Field(
        64 * 1024, ge=256, le=16 * 1024 * 1024, description="Larger payloads are dead-lettered"
    )
    future_skew_s: int = Field(
        300, ge=0, description="A device timestamp further ahead of our clock is refused"
    )
    stale_after_s: int = Field(
        86_400, ge=1, description="Readings older than this are stored but flagged stale"
    )
    clock_skew_alert_s: float = Field(
        300.0, gt=0,
        description="A device whose clock is off by more than this gets one `device.clock_skew` "
        "maintenance alert until it is right again (fast: at once; slow: when nothing it sent "
        "for 10 minutes was on time, or at once from an urgent event or status)",
    )
    queue_size: int = Field(
        5000, ge=10, description="Messages held between the MQTT thread and the pipeline"
    )
    batch_size: int = Field(
        2000, ge=1, le=10_000,
        description="Most messages per database transaction (a backlog drains in batches this big)",
    )
    gc_threshold: int = Field(
        50_000, ge=0, le=10_000_000,
        description="Allocations between runs of Python's youngest garbage-collector "
        "generation (CPython's default is 700); 0 leaves the collector as it is. With a value "
        "set, the state loaded at start-up is also frozen out of collection",
    )
    dead_letter_payload_bytes: int = Field(
        4096, ge=0, description="How much of a rejected payload is kept"
    )


class RuleSettings(_Section):
    """The rules engine and the alert lifecycle."""

    enabled: bool = Field(True, description="Run the rules engine at all")
    pack: bool = Field(True, description="Load the built-in rule pack (rules/packs)")
    extra_dir: Path | None = Field(
        None, description="Folder of the operator's own rule files (*.yaml), loaded after the pack"
    )
    tick_s: float = Field(
        5.0, gt=0, le=300, description="How often timers (absence, duration, ack timeouts) run"
    )
    ack_timeout_s: float = Field(
        1800.0, ge=0, description="An acknowledged alert not cleared by then re-escalates; 0: never"
    )
    flap_threshold: int = Field(
        3, ge=0, description="Openings within flap_window_s after which an alert stays open; 0: off"
    )
    flap_window_s: float = Field(1800.0, gt=0, description="Window of the flap count, seconds")
    flap_quiet_s: float = Field(
        600.0, gt=0, description="A flapping alert clears after this long without firing"
    )
    stale_event_limit_s: float = Field(
        600.0, gt=0, description="Messages older than this (device time) open alerts muted"
    )
    outage_min_devices: int = Field(
        3, ge=1, description="Silent devices in one building before it counts as an outage"
    )
    outage_fraction: float = Field(
        0.6, ge=0, le=1, description="Share of a building's devices silent for an outage; 0: off"
    )


class DialectSettings(_Section):
    """Vendor dialect files: payload formats described as data (docs/vendor-guide.md)."""

    folder: Path | None = Field(
        None,
        description="Folder of extra dialect files (*.yaml) loaded beside the built-in ones; "
        "read at start-up (after adding a dialect with vendor topics, run `scgw broker "
        "provision` again so the gateway account may read them)",
    )


class BridgeSettings(_Section):
    """The 3G-watch TCP bridge (`scgw bridge watch3g`), which speaks MQTT as each watch."""

    listen: str = Field(
        "0.0.0.0:5901", pattern=r"^[^:]+:\d{1,5}$",
        description="HOST:PORT the bridge accepts watch connections on",
    )
    credentials_file: Path | None = Field(
        None,
        description="YAML map of watch id → MQTT password (the passwords issued when the "
        "watches were registered); without it the bridge logs in with the id alone",
    )
    first_frame_s: float = Field(
        30.0, gt=0, le=600,
        description="A connection that sends no valid frame within this is closed",
    )
    idle_s: float = Field(
        900.0, gt=0, le=86_400,
        description="A watch silent this long is disconnected (they send LK every few minutes)",
    )
    max_frame_bytes: int = Field(
        8192, ge=256, le=1_048_576,
        description="Longest frame accepted; a longer length field closes the connection",
    )
    max_connections: int = Field(
        20_000, ge=1, description="Open TCP connections beyond this are closed at once",
    )


def _default_offline_timeouts() -> dict[str, int]:
    return {kind.key: kind.offline_timeout_s for kind in DECLARED}


class Settings(BaseSettings):
    """All gateway settings; env `SCGW_SECTION__FIELD`, or a YAML file named by `SCGW_CONFIG`."""

    model_config = SettingsConfigDict(
        env_prefix="SCGW_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    environment: Literal["development", "production"] = Field(
        "development", description="`production` refuses development defaults for secrets"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level"
    )
    log_json: bool = Field(True, description="Structured JSON logs (one object per line)")
    timezone: str = Field("Asia/Shanghai", description="The community's time zone")
    data_dir: Path = Field(
        Path("data"),
        description="Folder for everything the gateway keeps: the database (unless "
        "`database.url` says otherwise), buffers, the demo's seed",
    )
    broker: BrokerSettings = Field(default_factory=BrokerSettings, description="MQTT broker")
    provisioning: ProvisioningSettings = Field(
        default_factory=ProvisioningSettings, description="Per-device broker credentials"
    )
    embedded_broker: EmbeddedBrokerSettings = Field(
        default_factory=EmbeddedBrokerSettings, description="Embedded broker for the demo"
    )
    database: DatabaseSettings = Field(default_factory=DatabaseSettings, description="Storage")
    influx: InfluxSettings = Field(default_factory=InfluxSettings, description="InfluxDB history")
    api: ApiSettings = Field(default_factory=ApiSettings, description="HTTP API")
    limits: LimitSettings = Field(default_factory=LimitSettings, description="Message limits")
    plates: PlateSettings = Field(
        default_factory=PlateSettings, description="Digital door plates and the resident page"
    )
    rules: RuleSettings = Field(default_factory=RuleSettings, description="Rules and alerts")
    dialects: DialectSettings = Field(
        default_factory=DialectSettings, description="Vendor dialect files"
    )
    bridge: BridgeSettings = Field(
        default_factory=BridgeSettings, description="3G-watch TCP bridge"
    )
    workflow: WorkflowSettings = Field(
        default_factory=WorkflowSettings, description="Request workflow (tickets)"
    )
    offline_timeout_s: dict[str, int] = Field(
        default_factory=_default_offline_timeouts,
        description="Per device kind: silence after which a device counts as offline",
    )
    offline_sweep_s: float = Field(
        15.0, gt=0, description="How often the offline timeout is checked"
    )
    auto_register_unknown: bool = Field(
        False, description="Register unknown device ids as `pending` instead of only dead-lettering"
    )
    metrics_port: int | None = Field(
        None, ge=1, le=65535,
        description="Also serve Prometheus metrics, without a token, on this port of "
        "`metrics_host` (a private scrape address)",
    )
    metrics_host: str = Field(
        "127.0.0.1", description="Bind address of the `metrics_port` listener"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Init args win, then the environment, then the YAML file named by SCGW_CONFIG."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("SCGW_CONFIG")
        if config_file:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=config_file))
        return tuple(sources)

    @field_validator("offline_timeout_s")
    @classmethod
    def _known_kinds(cls, value: dict[str, int]) -> dict[str, int]:
        known = {kind.key for kind in DECLARED}
        unknown = set(value) - known
        if unknown:
            raise ValueError(f"unknown device kinds {sorted(unknown)}; known: {sorted(known)}")
        if any(v <= 0 for v in value.values()):
            raise ValueError("offline timeouts must be positive seconds")
        return {**_default_offline_timeouts(), **value}

    @model_validator(mode="after")
    def _no_dev_secrets_in_production(self) -> Settings:
        if self.environment == "production":
            secret = self.api.jwt_secret.get_secret_value()
            if secret == DEV_JWT_SECRET:
                raise ValueError("set SCGW_API__JWT_SECRET: the development secret is refused")
            # A short HMAC key can be found offline from one captured token, and every
            # access token (and refresh MAC) is signed with it.
            if len(secret) < MIN_JWT_SECRET:
                raise ValueError(f"SCGW_API__JWT_SECRET is {len(secret)} characters: use at "
                                 f"least {MIN_JWT_SECRET} (e.g. `openssl rand -base64 48`)")
            key = self.plates.token_key
            if key is not None and key.get_secret_value() == DEV_PLATE_KEY:
                raise ValueError("set SCGW_PLATES__TOKEN_KEY: the development plate key is "
                                 "refused (anyone could forge door-plate links)")
            if not self.broker.url:
                raise ValueError("set SCGW_BROKER__URL: the embedded broker is for development")
            if self.broker.username is None or self.broker.password is None:
                raise ValueError("set SCGW_BROKER__USERNAME and SCGW_BROKER__PASSWORD: the "
                                 "gateway logs in to the broker with its own account")
        return self

    @property
    def docs_public(self) -> bool:
        """Whether API documents are served without a login."""
        if self.api.public_docs is not None:
            return self.api.public_docs
        return self.environment == "development"

    @property
    def database_path(self) -> Path:
        """The SQLite file: `database.url`, or scgw.db in `data_dir` when no URL is set."""
        if not self.database.url:
            return self.data_dir / "scgw.db"
        return self.database.sqlite_path


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and optional file, with explicit overrides on top."""
    return Settings(**overrides)
