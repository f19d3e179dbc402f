"""Settings of the HTTP side: the API and the door-plate pages."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from gateway.settings.base import DEV_JWT_SECRET, RESIDENT_CATEGORIES, Section


class ApiSettings(Section):
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


class PlateSettings(Section):
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
