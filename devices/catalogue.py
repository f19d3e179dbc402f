"""The registry of device kinds, and the unions built from their declarations."""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter

from devices import (
    access,
    alarm_pole,
    camera,
    charging_pile,
    elevator,
    extinguisher,
    gas_detector,
    leak_detector,
    locker,
    radar,
    smoke_detector,
    water_meter,
    wristband,
)
from devices.base import DeviceConfig, DeviceKind, Event
from devices.words import urgent_type, urgent_word

# The one list of kinds. Adding a kind is adding its module here; everything below derives.
DECLARED: tuple[DeviceKind, ...] = (
    wristband.KIND, access.KIND, camera.KIND, locker.KIND,
    alarm_pole.KIND,
    smoke_detector.KIND,
    gas_detector.KIND,
    leak_detector.KIND,
    water_meter.KIND,
    extinguisher.KIND,
    elevator.KIND,
    radar.KIND,
    charging_pile.KIND,
)


class KindCatalogue:
    """Looks kinds up by key and validates payloads against the kind's models."""

    def __init__(self, kinds: tuple[DeviceKind, ...] = DECLARED) -> None:
        keys = [k.key for k in kinds]
        if len(set(keys)) != len(keys):
            raise ValueError(f"duplicate device kind keys: {keys}")
        for kind in kinds:
            unknown = set(kind.urgent) - set(kind.vocabulary())
            if unknown:
                raise ValueError(f"{kind.key}: urgent events {sorted(unknown)} are not in its "
                                 f"vocabulary {list(kind.vocabulary())}")
            own = {urgent_word(word) for word in kind.vocabulary()}
            for alias, meant in kind.urgent_aliases:
                # An alias may not shadow a word of the kind's own (a `worn` read as `sos`),
                # however it is spelt (compared as salvage compares: devices/words.urgent_word).
                if meant not in kind.urgent or urgent_word(alias) in own:
                    raise ValueError(f"{kind.key}: urgent alias {alias!r} → {meant!r} must "
                                     "name an urgent type and not be a word of the kind")
            # Nor may a decoration make one of its other words urgent (`low_battery` read as
            # `low` + `battery`, `alarm_cleared` as a smoke alarm).
            for word in (*kind.vocabulary(), *(other for other, _ in kind.other_words)):
                read = urgent_type(kind, word)
                if read is not None and word not in kind.urgent:
                    raise ValueError(f"{kind.key}: its word {word!r} would be read as the "
                                     f"urgent {read!r}")
        self.kinds: dict[str, DeviceKind] = {k.key: k for k in kinds}
        self._event_adapters = {k.key: _event_adapter(k) for k in kinds}
        self._telemetry_adapters = {k.key: TypeAdapter(k.telemetry) for k in kinds}

    def get(self, key: str) -> DeviceKind | None:
        """The kind with this key, or None."""
        return self.kinds.get(key)

    def event_adapter(self, key: str) -> TypeAdapter[Event]:
        """Validator for the discriminated union of the kind's events."""
        return self._event_adapters[key]

    def telemetry_adapter(self, key: str) -> TypeAdapter[Any]:
        """Validator for the kind's telemetry model."""
        return self._telemetry_adapters[key]

    @cached_property
    def device_config_adapter(self) -> TypeAdapter[DeviceConfig]:
        """Validator for a registration record of any kind, discriminated by `kind`."""
        configs = tuple(k.config for k in self.kinds.values())
        union = Annotated[Union[configs], Field(discriminator="kind")]  # noqa: UP007
        return TypeAdapter(union)


def _event_adapter(kind: DeviceKind) -> TypeAdapter[Event]:
    if len(kind.events) == 1:
        return TypeAdapter(kind.events[0])
    union = Annotated[Union[kind.events], Field(discriminator="type")]  # noqa: UP007
    return TypeAdapter(union)


CATALOGUE = KindCatalogue()
