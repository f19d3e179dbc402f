"""Gateway settings: environment (`SCGW_*`), an optional YAML file, validated defaults;
the sections live beside this module, one module per concept."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from devices.catalogue import DECLARED
from gateway.settings.base import DEV_JWT_SECRET, DEV_PLATE_KEY, MIN_JWT_SECRET
from gateway.settings.http import ApiSettings, PlateSettings
from gateway.settings.mqtt import (
    BridgeSettings,
    BrokerSettings,
    EmbeddedBrokerSettings,
    ProvisioningSettings,
)
from gateway.settings.processing import DialectSettings, LimitSettings, RuleSettings
from gateway.settings.replicas import ReplicaSettings
from gateway.settings.storage import DatabaseSettings, InfluxSettings
from gateway.workflow.config import WorkflowSettings


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
    gateway: ReplicaSettings = Field(
        default_factory=ReplicaSettings, description="Running as one of several replicas"
    )
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
    def _replicas_share_what_they_must(self) -> Settings:
        if self.gateway.replica_id is None:
            return self
        if not self.database.url.startswith(("postgresql://", "postgres://")):
            raise ValueError("gateway.replica_id needs database.url: postgresql://… (replicas "
                             "share one database; a SQLite file cannot be shared)")
        if not self.broker.shared_group:
            raise ValueError("gateway.replica_id needs broker.shared_group, so that the "
                             "replicas split the device messages instead of each taking all")
        return self

    @property
    def mqtt_client_id(self) -> str:
        """The client id this process connects with (a replica's carries its name)."""
        return self.replica_broker(self.gateway.replica_id).client_id

    def replica_broker(self, replica: str | None) -> BrokerSettings:
        """The broker login of a replica: client id and username carry its name
        (`gw` → `gw-a`), all replicas share the password, so a survivor can log in as a dead
        replica and take its session over (the broker binds each account to its client id)."""
        if not replica:
            return self.broker
        b = self.broker
        return b.model_copy(update={
            "client_id": f"{b.client_id}-{replica}",
            "username": f"{b.username}-{replica}" if b.username else None})

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


__all__ = [
    "DEV_JWT_SECRET",
    "DEV_PLATE_KEY",
    "MIN_JWT_SECRET",
    "ApiSettings",
    "BridgeSettings",
    "BrokerSettings",
    "DatabaseSettings",
    "DialectSettings",
    "EmbeddedBrokerSettings",
    "InfluxSettings",
    "LimitSettings",
    "PlateSettings",
    "ProvisioningSettings",
    "ReplicaSettings",
    "RuleSettings",
    "Settings",
    "load_settings",
]
