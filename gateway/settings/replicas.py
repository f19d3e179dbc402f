"""Settings of a gateway that runs as one of several replicas (district deployment)."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from gateway.settings.base import Section


class ReplicaSettings(Section):
    """Several gateway processes sharing the device subscriptions and one PostgreSQL."""

    replica_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{1,40}$",
        description="This process's name among the replicas (e.g. `gw-a`); empty: the only "
        "gateway. Needs `database.url: postgresql://…` and `broker.shared_group`; the MQTT "
        "client id becomes `<broker.client_id>-<replica_id>` (its event lane's "
        "`…-<replica_id>-events`, so a replica id may not end in `-events`)",
    )
    lease_s: float = Field(
        3.0, ge=1.0, le=60.0,
        description="How long the timers' lease and a replica's heartbeat hold without "
        "renewal: a dead replica's timers and broker session move to a survivor after this",
    )
    heartbeat_s: float = Field(
        1.0, gt=0.0, le=20.0,
        description="How often a replica renews its heartbeat and tries for the timers' lease",
    )
    adopt_sessions: bool = Field(
        True,
        description="A survivor takes over a dead replica's broker session (same client id) "
        "and handles the messages the broker queued for it, until that replica is back",
    )

    @field_validator("replica_id")
    @classmethod
    def _not_a_lane(cls, value: str | None) -> str | None:
        # `gw-a-events` is replica `a`'s event lane: a replica of that name would take it.
        if value is not None and (value == "events" or value.endswith("-events")):
            raise ValueError("a replica id may not be `events` or end in `-events` (the "
                             "event lanes' client ids end so)")
        return value

    @model_validator(mode="after")
    def _renew_within_lease(self) -> ReplicaSettings:
        if self.heartbeat_s * 2 > self.lease_s:
            raise ValueError("gateway.heartbeat_s must be at most half of gateway.lease_s, or "
                             "a live replica's lease could lapse between two renewals")
        return self
