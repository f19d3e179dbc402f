"""Settings of the MQTT side: the broker, provisioning, the embedded broker, the 3G bridge."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from gateway.settings.base import Section

EVENT_LANE_SUFFIX = "-events"  # the event lane's username and client id: the gateway's + this


class BrokerSettings(Section):
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
    event_lane: bool = Field(
        True,
        description="Read devices' `event` channel (and the readings of gas, smoke and leak "
        "detectors and charging piles) on a second session of its own (client id and "
        "username `<…>-events`), so an SOS never queues in the broker behind a flood of "
        "readings; without its account the events are read on the main session",
    )
    keepalive_s: int = Field(30, ge=5, le=600, description="MQTT keepalive")
    reconnect_min_s: float = Field(0.5, gt=0, description="First reconnect delay")
    reconnect_max_s: float = Field(30.0, gt=0, description="Reconnect delay ceiling (jittered)")

    def event_lane_login(self) -> BrokerSettings:
        """The login of the event lane: the same password, its own username and client id."""
        return self.model_copy(update={
            "client_id": f"{self.client_id}{EVENT_LANE_SUFFIX}",
            "username": f"{self.username}{EVENT_LANE_SUFFIX}" if self.username else None})

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


class ProvisioningSettings(Section):
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


class EmbeddedBrokerSettings(Section):
    """The pure-Python broker started when no broker URL is set (demo, laptops)."""

    host: str = Field("127.0.0.1", description="Bind address of the embedded broker")
    port: int = Field(1883, ge=1, le=65535, description="Port of the embedded broker")


class BridgeSettings(Section):
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
        20_000, ge=1,
        description="Open TCP connections beyond this are refused (lowered at start to what "
        "the process's open-file limit allows: each watch holds a TCP connection and an MQTT "
        "session); when full, the oldest connection that has not named its watch yet goes "
        "first",
    )
    allowed_networks: list[str] = Field(
        default_factory=list,
        description="Source networks (CIDR) watches may connect from, e.g. the private APN's "
        "range; empty: any (refused in production: the 3G protocol carries only the watch's "
        "id, so anyone who can reach the port and knows an id can speak as that watch)",
    )

    @field_validator("allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for text in value:
            ipaddress.ip_network(text, strict=False)  # ValueError names the bad one
        return value
