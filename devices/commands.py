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

    def __post_init__(self) -> None:
        if not 0 < self.ttl_s <= self.max_ttl_s:
            raise ValueError(f"command {self.name}: need 0 < ttl_s <= max_ttl_s")
