"""Device registry: registration, updates, disable/approve, and the in-memory index for ingest."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from devices.base import DeviceConfig
from devices.catalogue import CATALOGUE
from devices.vendors import CodecSet, builtin_codecs
from devices.yaml_text import load_yaml
from gateway.clock import Clock
from gateway.storage.base import Store
from gateway.storage.records import DeviceRecord, DeviceStatus

log = logging.getLogger(__name__)


class RegistryError(ValueError):
    """A registration that cannot be accepted (bad field, unknown codec, unknown device)."""


class CodecKindError(RegistryError):
    """A codec or dialect that cannot decode the device's kind."""


def validate_config(raw: dict[str, Any], codecs: CodecSet | None = None) -> DeviceConfig:
    """Validate one registration against its kind's model and its codec's kinds."""
    try:
        config = CATALOGUE.device_config_adapter.validate_python(raw)
    except ValidationError as exc:
        where = raw.get("id", "?") if isinstance(raw, dict) else "?"
        raise RegistryError(f"device {where}: {'; '.join(field_errors(exc))}") from exc
    codecs = codecs if codecs is not None else builtin_codecs()
    if config.codec not in codecs:
        raise RegistryError(f"device {config.id}: codec: unknown codec {config.codec!r}; "
                            f"known: {sorted(codecs)}")
    check_own_timeout(config)
    if not codecs.serves(config.codec, config.kind):
        raise CodecKindError(f"device {config.id}: codec: {config.codec!r} does not decode "
                             f"{config.kind} devices")
    return config


def check_own_timeout(config: DeviceConfig) -> None:
    """Refuse a registration that would let its device stay silent longer than its kind
    allows (DeviceKind.own_timeout_max_s)."""
    kind = CATALOGUE.get(config.kind)
    own = config.offline_timeout_s
    if kind is not None and own is not None and own > kind.own_timeout_max_s:
        raise RegistryError(
            f"device {config.id}: offline_timeout_s: {own} s is longer than a {kind.key} may "
            f"stay silent ({kind.own_timeout_max_s} s at most; its kind's default is "
            f"{kind.offline_timeout_s} s): a dead device would show online that long")


def field_errors(exc: ValidationError) -> list[str]:
    """`field: reason` for each problem (the kind's union tag left out of the path)."""
    out = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = [str(p) for p in error["loc"]]
        if len(loc) > 1 and loc[0] in CATALOGUE.kinds:
            loc = loc[1:]
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            # pydantic's "Input tag 'elevator' found using 'kind' does not match any of the
            # expected tags: …" read to a vendor as a riddle (vendor round 2)
            said = (error.get("ctx") or {}).get("tag")
            out.append(f"kind: {'missing' if said is None else repr(said) + ' is not a kind'}"
                       f"; one of {', '.join(sorted(CATALOGUE.kinds))} (a kind not listed has "
                       "no contract yet: ask the operator)")
            continue
        out.append(f"{'.'.join(loc) or 'kind'}: {error['msg']}")
    return out


class DeviceRegistry:
    """Registered devices, indexed in memory for the per-message lookup, backed by the store."""

    def __init__(self, store: Store, clock: Clock, codecs: CodecSet | None = None) -> None:
        self._store = store
        self._clock = clock
        # The codecs registrations may name (built-in ones plus the configured dialects).
        self.codecs = codecs if codecs is not None else builtin_codecs()
        self._devices: dict[str, DeviceRecord] = {}
        self._sorted: list[DeviceRecord] | None = None  # by id, until a record is replaced
        # Ids by their case-folded form, built on first use and kept up as ids are added.
        self._folded: dict[str, set[str]] | None = None
        self._loaded = False  # every stored device is in memory
        self._loaded_until = 0.0
        # Put in memory since the pipeline's last commit: a device registered as pending
        # inside a batch that then failed is read back (gone), or its retry would find it
        # "pending" in memory only and the operator would never see it to approve.
        self._unsettled: set[str] = set()

    def load(self) -> int:
        """Load every device from the store; return how many."""
        records = self._store.load_devices()
        self._devices = {r.id: r for r in records}
        self._sorted = None
        self._folded = None
        self._loaded = True
        self._loaded_until = max((r.updated_at for r in records), default=0.0)
        return len(records)

    def refresh(self) -> int:
        """Pick up registrations changed by other processes (CLI, API); return how many."""
        changed = self._store.load_devices(since=self._loaded_until)
        for record in changed:
            self._put(record)
            self._loaded_until = max(self._loaded_until, record.updated_at)
        return len(changed)

    def get(self, device_id: str) -> DeviceRecord | None:
        """The registration of `device_id`, re-reading the store once on a miss."""
        record = self._devices.get(device_id)
        if record is None:
            record = self._store.get_device(device_id)
            if record is not None:
                self._put(record)
        return record

    def _put(self, record: DeviceRecord) -> None:
        self._devices[record.id] = record
        self._sorted = None
        if self._folded is not None:
            self._folded.setdefault(record.id.casefold(), set()).add(record.id)
        self._unsettled.add(record.id)

    def committed(self) -> None:
        """The pipeline's transaction committed: what it registered stands."""
        self._unsettled = set()

    def rolled_back(self) -> None:
        """The pipeline's transaction failed: registrations put since are read back as
        stored (a registration committed by another thread reads back unchanged)."""
        ids, self._unsettled = list(self._unsettled), set()
        for device_id in ids:
            record = self._store.get_device(device_id)
            if record is None:
                self._devices.pop(device_id, None)
            else:
                self._devices[device_id] = record
        self._sorted = None
        self._folded = None

    def __len__(self) -> int:
        return len(self._devices)

    def case_twin(self, device_id: str) -> str | None:
        """A registered id that differs from `device_id` in case only (`wb-a1` for `WB-A1`)."""
        if self._folded is None:  # one scan, then kept up: not one per registration
            self._folded = {}
            for known in self._devices:
                self._folded.setdefault(known.casefold(), set()).add(known)
        return next((d for d in self._folded.get(device_id.casefold(), ()) if d != device_id),
                    None)

    def offline_timeout_of(self, device_id: str) -> float | None:
        """A device's own offline timeout from its registration, or None (its kind's) —
        never longer than its kind allows (a registration from before the limit)."""
        record = self._devices.get(device_id)
        if record is None or record.offline_timeout_s is None:
            return None
        kind = CATALOGUE.get(record.kind)
        limit = kind.own_timeout_max_s if kind is not None else record.offline_timeout_s
        return min(record.offline_timeout_s, limit)

    def all(self) -> list[DeviceRecord]:
        """Every device held in memory."""
        return list(self._devices.values())

    def by_id(self) -> list[DeviceRecord]:
        """Every device held in memory, ordered by id (kept between changes: a console lists
        the first page of ten thousand devices every few seconds)."""
        ordered = self._sorted
        if ordered is None:
            ordered = self._sorted = sorted(self._devices.values(), key=lambda d: d.id)
        return ordered

    def register(self, configs: Iterable[DeviceConfig], status: DeviceStatus = "active") -> int:
        """Insert or update registrations; keeps `created_at` of existing devices."""
        now = self._clock.time()
        records = []
        for config in configs:
            check_own_timeout(config)
            # In memory when loaded; a registry that was not loaded asks the store per id.
            existing = self._devices.get(config.id) or (
                None if self._loaded else self.get(config.id))
            # A new wearer's family sees the band's data from here on, not the previous one's.
            was = existing or DeviceRecord(config.id, config.kind)
            record = DeviceRecord(
                status=status,
                created_at=existing.created_at if existing else now,
                updated_at=now,
                bound_at=was.bound_at if was.resident_id == config.resident_id else now,
                # Still disabled: still by whom it was (a binding does not change that).
                disabled_by=was.disabled_by if status == was.status == "disabled" else "",
                **config.model_dump(),
            )
            records.append(record)
        self._store.upsert_devices(records)
        for record in records:
            self._put(record)
        self._loaded_until = max(self._loaded_until, now)
        return len(records)

    def set_status(self, device_id: str, status: DeviceStatus,
                   disabled_by: str = "") -> DeviceRecord:
        """Disable (recording the role that did), re-enable or approve a device."""
        record = self.get(device_id)
        if record is None:
            raise RegistryError(f"unknown device {device_id!r}")
        # A copy, held only once stored: a failed write leaves memory as the table is.
        record = replace(record, status=status, updated_at=self._clock.time(),
                         disabled_by=disabled_by if status == "disabled" else "")
        self._store.upsert_devices([record])
        self._put(record)
        return record

    def register_pending(self, device_id: str, kind: str, codec: str = "json") -> DeviceRecord:
        """Record an unknown device that talked to us, for an operator to approve."""
        config = validate_config({"id": device_id, "kind": kind, "codec": codec}, self.codecs)
        self.register([config], status="pending")
        record = self._devices[device_id]
        log.info("registered unknown device as pending", extra={"device_id": device_id})
        return record


def read_import_file(path: Path, codecs: CodecSet | None = None) -> list[DeviceConfig]:
    """Parse a CSV (header row) or YAML (list, or `devices:` list) file of registrations."""
    text = path.read_text(encoding="utf-8")
    rows: list[dict[str, Any]]
    if path.suffix.lower() == ".csv":
        rows = [
            {k: v for k, v in row.items() if v not in ("", None)}
            for row in csv.DictReader(io.StringIO(text))
        ]
    elif path.suffix.lower() in (".yaml", ".yml"):
        data = load_yaml(text)
        if isinstance(data, dict) and "devices" in data:
            data = data["devices"]
        if not isinstance(data, list):
            raise RegistryError(f"{path}: expected a list of devices or a `devices:` list")
        rows = data
    else:
        raise RegistryError(f"{path}: use a .csv, .yaml or .yml file")
    configs = []
    errors = []
    # A CSV's first data row is line 2 (after the header); a YAML list counts entries.
    first, what = (2, "line") if path.suffix.lower() == ".csv" else (1, "entry")
    for number, row in enumerate(rows, start=first):
        try:
            configs.append(validate_config(row, codecs))
        except RegistryError as exc:
            errors.append(f"{path}: {what} {number}: {exc}")
    if errors:
        raise RegistryError("\n".join(errors))
    ids = [c.id for c in configs]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise RegistryError(f"{path}: device ids repeated: {duplicates}")
    return configs
