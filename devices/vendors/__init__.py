"""The codecs a device may name: our JSON contract, the dialect files, and Python codecs.

Most vendor formats are dialect files (`devices/dialects/builtin/*.yaml`, plus a configured
folder); a Python codec stays only where a mapping cannot express the format: `watch3g`, the
v1 JSON that the 3G-watch bridge writes for watches that speak a TCP text protocol.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from devices.codec import Codec, JsonCodec
from devices.dialects.engine import DialectCodec
from devices.dialects.errors import DialectError
from devices.dialects.loader import BUILTIN_DIR, load_folders
from devices.dialects.topics import CompiledTopic, TopicMatch
from devices.errors import UnknownCodecError
from devices.topics import valid_id


class Watch3gCodec(JsonCodec):
    """Watches behind the 3G-protocol bridge: the bridge publishes our v1 JSON as the watch."""

    name = "watch3g"
    kinds = frozenset({"wristband"})


class VendorRoute:
    """Where a vendor topic leads: the dialect, its topic pattern and the device named."""

    __slots__ = ("codec", "match", "topic")

    def __init__(self, codec: DialectCodec, topic: CompiledTopic, match: TopicMatch) -> None:
        self.codec = codec
        self.topic = topic
        self.match = match


@dataclass(frozen=True, slots=True)
class HubWill:
    """A message on a hub's own status topic: which dialect and hub, and where its devices'
    availability comes."""

    dialect: str
    hub: str
    availability: CompiledTopic

    def device_topic(self, device_id: str) -> str | None:
        """The availability topic of one of the hub's devices (`<hub>-<name>`), or None."""
        prefix = f"{self.hub}-"
        if not device_id.startswith(prefix):
            return None
        name = device_id[len(prefix):]
        return "/".join(self.hub if lv == "{hub}" else name if lv == "{id}" else lv
                        for lv in self.availability.levels)


class CodecSet:
    """Codecs by name, and the vendor topics of the dialects among them."""

    def __init__(self, dialects: list[DialectCodec], folder: Path | None = None) -> None:
        self.folder = folder
        self.dialects: dict[str, DialectCodec] = {d.name: d for d in dialects}
        self._codecs: dict[str, Codec] = {"json": JsonCodec(), "watch3g": Watch3gCodec()}
        for dialect in dialects:
            if dialect.name in self._codecs:
                raise DialectError(f"{dialect.name!r} is the name of a Python codec",
                                   loc=("dialect",), file=dialect.source)
            self._codecs[dialect.name] = dialect
        # Vendor topics by their first level, for the per-message lookup.
        self._routes: dict[str, list[tuple[DialectCodec, CompiledTopic]]] = {}
        seen: list[tuple[DialectCodec, CompiledTopic]] = []
        for dialect in dialects:
            for topic in dialect.topics:
                for other_dialect, other in seen:
                    if topic.overlaps(other):
                        raise DialectError(
                            f"topic {topic.spec.pattern!r} overlaps {other.spec.pattern!r} of "
                            f"dialect {other_dialect.name}", loc=("topics", topic.name),
                            file=dialect.source)
                seen.append((dialect, topic))
                self._routes.setdefault(topic.first, []).append((dialect, topic))
        # Hubs' own wills: (levels of the pattern, where `{hub}` is, the dialect, its devices'
        # status topic).
        self._hub_wills: list[tuple[list[str], int, DialectCodec, CompiledTopic]] = []
        for dialect in dialects:
            will = dialect.dialect.hub_status
            if will is not None:
                levels = will.pattern.split("/")
                target = next(t for t in dialect.topics if t.name == will.availability)
                self._hub_wills.append((levels, levels.index("{hub}"), dialect, target))

    def __contains__(self, name: object) -> bool:
        return name in self._codecs

    def __iter__(self) -> Iterator[str]:
        return iter(self._codecs)

    def get(self, name: str) -> Codec:
        """The codec registered under `name`."""
        try:
            return self._codecs[name]
        except KeyError as exc:
            raise UnknownCodecError(
                f"no codec named {name!r}; known: {sorted(self._codecs)}") from exc

    def serves(self, name: str, kind: str) -> bool:
        """Whether codec `name` can decode devices of `kind` (json: every kind)."""
        codec = self._codecs.get(name)
        if codec is None:
            return False
        kinds = getattr(codec, "kinds", None)
        return kinds is None or kind in kinds

    def hub_only(self, name: str) -> bool:
        """Whether codec `name` is a dialect whose devices publish only through a hub
        (Zigbee2MQTT): they have no login of their own to read a command with."""
        dialect = self.dialects.get(name)
        return dialect is not None and bool(dialect.topics) and all(
            t.hub for t in dialect.topics)

    def route(self, topic: str) -> VendorRoute | None:
        """The dialect topic a topic fits, or None when it is no dialect's."""
        parts = topic.split("/")
        for dialect, compiled in self._routes.get(parts[0], ()):
            found = compiled.match(parts)
            if found is not None:
                return VendorRoute(dialect, compiled, found)
        return None

    def vendor_filters(self) -> list[str]:
        """Subscription filters of every vendor topic (hubs' wills included)."""
        return [*(t.filter for d in self.dialects.values() for t in d.topics),
                *("/".join("+" if lv == "{hub}" else lv for lv in levels)
                  for levels, _, _, _ in self._hub_wills)]

    def hub_will(self, topic: str) -> HubWill | None:
        """The hub whose own status topic `topic` is, or None (asked of every vendor message:
        a topic not ending as a will's pattern does is not split)."""
        for levels, at, dialect, target in self._hub_wills:
            if not topic.endswith(levels[-1]):
                continue
            parts = topic.split("/")
            if len(parts) == len(levels) and valid_id(parts[at]) and all(
                    i == at or p == lv for i, (p, lv) in enumerate(zip(parts, levels,
                                                                        strict=True))):
                return HubWill(dialect.name, parts[at], target)
        return None


@cache
def codecs_for(folder: Path | None = None) -> CodecSet:
    """The built-in codecs plus the dialect files of `folder` (loaded once per folder)."""
    folders = [BUILTIN_DIR] + ([folder] if folder is not None else [])
    return CodecSet(load_folders(folders), folder)


def builtin_codecs() -> CodecSet:
    """The codecs shipped with the gateway."""
    return codecs_for(None)


def get_codec(name: str) -> Codec:
    """A built-in codec by name."""
    return builtin_codecs().get(name)
