"""The command catalogue: what the gateway may ask a device to do, declared per kind.

A command declares its name, its argument model (validated before anything is sent), the
model of the result a device reports, and how long it stays worth doing: every command
carries an `expires_at`, and neither the broker nor the device may act on it later.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict


class CommandArgs(BaseModel):
    """Base of a command's arguments: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class NoArgs(CommandArgs):
    """A command without arguments."""


class CommandResult(BaseModel):
    """Base of what a device reports in `cmd/ack.result` (unknown fields are kept)."""

    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)


@dataclass(frozen=True)
class CommandSpec:
    """One command a kind understands."""

    name: str
    description: str
    args: type[CommandArgs] = NoArgs
    result: type[CommandResult] = CommandResult
    ttl_s: float = 60.0  # default time to live
    max_ttl_s: float = 600.0  # the most a caller may ask for
    # Moves or sounds something where people live (a door, a valve, a siren, a compartment):
    # on a device the community installed, only its staff may send it, never the vendor.
    acts: bool = False
    # An argument naming what the command acts on (a compartment, a door): one command in
    # flight per device, name *and* this value — a locker could not open a second
    # compartment for a second resident while the first answer was pending (vendor round 2).
    per: str | None = None

    def __post_init__(self) -> None:
        if not 0 < self.ttl_s <= self.max_ttl_s:
            raise ValueError(f"command {self.name}: need 0 < ttl_s <= max_ttl_s")
        if self.per is not None and self.per not in self.args.model_fields:
            raise ValueError(f"command {self.name}: per={self.per!r} is not an argument")
