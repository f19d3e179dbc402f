"""Device administration: register hardware, bind it to a place or resident, switch it off.

One code path for the API and the CLI, so a device disabled from either is disabled at the
broker too. A vendor registers hardware only (id, kind, model, codec, install date) under its
own vendor name; binding a device to a resident, grid or site is an operator's act. Every
change is written to the admin audit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from devices.base import DeviceConfig
from gateway.clock import Clock
from gateway.namespace import device_id_refusal
from gateway.provisioning import (
    AccountConflictError,
    DynsecProvisioner,
    ProvisioningError,
    device_acls,
    device_role,
)
from gateway.registry import DeviceRegistry, RegistryError, validate_config
from gateway.storage.audit import AuditRepository
from gateway.storage.credentials import CredentialRepository
from gateway.storage.records import DeviceRecord, DeviceStatus

log = logging.getLogger(__name__)

BINDING_FIELDS: tuple[str, ...] = ("site", "building", "unit", "grid", "resident_id")
# What a vendor may say about its hardware; everything else of a registration is binding.
HARDWARE_FIELDS: tuple[str, ...] = ("id", "kind", "vendor", "model", "codec", "install_date",
                                     "offline_timeout_s")
STAFF_ROLES = frozenset({"admin", "operator"})


class DeviceRefusedError(ValueError):
    """A registration or binding that is invalid as sent (bad id, unknown resident, …)."""


class DeviceConflictError(Exception):
    """A registration that collides with what exists (another vendor's id, another kind)."""


class QuotaExceededError(Exception):
    """A vendor already has as many devices waiting for installation as it may."""


class NotAllowedError(PermissionError):
    """The actor's role may not do this to devices."""


class BrokerUnavailableError(Exception):
    """The broker's admin API failed; nothing was changed."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks: an API account or the command line."""

    username: str
    role: str
    vendor: str | None = None
    client_addr: str = ""


@dataclass(frozen=True, slots=True)
class Registration:
    """What a registration produced; `password` only when credentials were (re)issued."""

    device: DeviceRecord
    password: str | None
    created: bool


@dataclass(frozen=True, slots=True)
class Binding:
    """Where a device is and whom it serves."""

    site: str = ""
    building: str = ""
    unit: str = ""
    grid: str = ""
    resident_id: str | None = None
    # The operator's own offline timeout for the device, when given (None in it: the kind's);
    # not given, the registration's stands (red team round 11: a vendor's 26 h for a lone
    # elder's radar could be neither seen nor lowered by the control room).
    offline_timeout_s: tuple[int | None] | None = None


class DeviceAdmin:
    """Registers, binds, enables and disables devices (registry, broker account, audit)."""

    def __init__(self, registry: DeviceRegistry, clock: Clock, *,
                 provisioner: DynsecProvisioner | None,
                 credentials: CredentialRepository, audit: AuditRepository,
                 resident_exists: Callable[[str], bool],
                 service_accounts: frozenset[str],
                 heard_from: Callable[[str], bool],
                 vendor_uninstalled_max: int = 0) -> None:
        self._registry = registry
        self._clock = clock
        self._provisioner = provisioner
        self._credentials = credentials
        self._audit = audit
        self._resident_exists = resident_exists
        self._service_accounts = service_accounts
        self._heard_from = heard_from
        self._vendor_uninstalled_max = vendor_uninstalled_max
        self._quota_lock = threading.Lock()

    # -- registration --------------------------------------------------------------------

    def register(self, raw: dict[str, object], actor: Actor) -> Registration:
        """Register a device (or, for its owner, re-register: rotates its credentials)."""
        if actor.role != "vendor" or not self._vendor_uninstalled_max:
            return self._register(raw, actor)
        # Counting and inserting as one: 100 parallel registrations overshot the quota by 39
        # (red team round 2). Registrations are rare; serialising a vendor's is cheap.
        with self._quota_lock:
            return self._register(raw, actor)

    def _register(self, raw: dict[str, object], actor: Actor) -> Registration:
        if actor.role not in STAFF_ROLES | {"vendor"}:
            raise NotAllowedError(f"role {actor.role} cannot register devices")
        device_id = str(raw.get("id", ""))
        reason = device_id_refusal(device_id, self._service_accounts)
        if reason:
            raise DeviceRefusedError(reason)
        if actor.role == "vendor":
            raw = self._vendor_registration(raw, actor)
        try:
            config = validate_config(raw, self._registry.codecs)
        except RegistryError as exc:
            raise DeviceRefusedError(str(exc)) from exc
        if actor.role == "vendor" and config.codec and self._behind_hub(config.codec):
            # A hub belongs to nobody's vendor account: any vendor registering `<hub>-door9`
            # read another party's door contact, squatted its id, and — as another kind —
            # muted its smoke alarms (red team round 12). Staff register a hub's devices,
            # naming the vendor whose hardware each is.
            self._note(actor, "device_register_refused", config.id,
                       f"a vendor may not register a hub's device (codec {config.codec})")
            raise NotAllowedError(
                f"device {config.id} speaks through a hub ({config.codec}); a hub's devices "
                "are registered by the community's staff, who name the vendor")
        existing = self._registry.get(config.id)
        twin = self._registry.case_twin(config.id) if existing is None else None
        if twin is not None:
            # Broker ids are case-sensitive, people are not: `wb-a1` beside `WB-A1` invites
            # binding the wrong band to an elder (red team, session 31).
            raise DeviceConflictError(f"device {twin} is registered: an id may not differ "
                                      "from another in case only")
        if existing is not None and existing.kind != config.kind and (
                existing.installed or self._heard_from(config.id)):
            # A kind is corrected only while nothing depends on it: not installed, never heard
            # (a registration with the wrong kind could not be fixed by anyone before).
            raise DeviceConflictError(
                f"device {config.id} is registered as a {existing.kind} and has "
                + ("been installed" if existing.installed else "reported as one")
                + ": its kind no longer changes")
        if actor.role == "vendor" and existing is None:
            self._check_quota(actor)
        if actor.role == "vendor" and existing is not None:
            if existing.vendor != actor.vendor:
                raise DeviceConflictError("device id taken")
            _not_installed(existing, actor, "re-register (which rotates its password)")
            config = config.model_copy(update={f: getattr(existing, f) for f in BINDING_FIELDS})
        if actor.role in STAFF_ROLES and config.resident_id and not self._resident_exists(
                config.resident_id):
            raise DeviceRefusedError(f"no resident {config.resident_id!r}")
        password, created = self._credentials_for(config, existing, actor)
        if password is None:
            self._follow_registration(config, existing)
        # Registering is not enabling: a disabled device stays disabled (and by whom it was),
        # or a vendor's re-registration would lift an operator's disable.
        status: DeviceStatus = "disabled" if existing is not None and \
            existing.status == "disabled" else "active"
        try:
            self._registry.register([config], status=status)
        except Exception:
            if created and self._provisioner is not None:
                self._provisioner.remove(config.id)  # nothing half done
            raise
        device = self._registry.get(config.id)
        assert device is not None  # just written
        self._note(actor, "device_register" if existing is None else "device_update",
                   config.id, f"kind={config.kind} vendor={config.vendor}"
                   + (" credentials issued" if password else ""))
        return Registration(device, password, existing is None)

    def _check_quota(self, actor: Actor) -> None:
        """A vendor's devices nobody installed yet are bounded: each can page the control room
        (an SOS is never assumed to be a test), so a hostile vendor must not fill it from
        its warehouse."""
        limit = self._vendor_uninstalled_max
        if not limit:
            return
        waiting = sum(1 for d in self._registry.all()
                      if d.vendor == actor.vendor and not d.installed)
        if waiting >= limit:
            raise QuotaExceededError(
                f"vendor {actor.vendor!r} has {waiting} devices registered and not yet "
                f"installed (the limit is {limit}): new registrations wait until the community "
                "installs some (staff may raise `limits.vendor_uninstalled_devices`)")

    def _vendor_registration(self, raw: dict[str, object], actor: Actor) -> dict[str, object]:
        bound = [f for f in BINDING_FIELDS if raw.get(f) not in (None, "")]
        if bound:
            raise NotAllowedError(
                f"a vendor registers hardware only; binding fields {bound} are set by an "
                "operator (PUT /devices/{id}/binding)")
        if raw.get("vendor") not in (None, "", actor.vendor):
            raise NotAllowedError("a vendor registers devices under its own vendor name only")
        return {**{k: v for k, v in raw.items() if k in HARDWARE_FIELDS},
                "vendor": actor.vendor or ""}

    def _credentials_for(self, config: DeviceConfig, existing: DeviceRecord | None,
                         actor: Actor) -> tuple[str | None, bool]:
        """Create the broker account of a new device, or rotate the owner's; (password, new).
        A device that speaks only through a hub (Zigbee2MQTT) gets none: its hub publishes
        for it, and an account of its own only let a squatter read its confirmations."""
        if self._provisioner is None or self._behind_hub(config.codec):
            return None, False
        record = self._credentials.get(config.id)
        if existing is not None and actor.role != "vendor":
            if record is None or record.vendor == config.vendor:
                return None, False  # staff update a registration; rotation is its own request
            # The device changes hands: the previous vendor's password must stop working. A
            # squatter's account kept logging in as a reclaimed id and fed an elder's family
            # a made-up position (red team, session 31).
            with self._provisioner.serial:
                password, _ = self._provision(config, owned=True)
                self._credentials.reassigned(config.id, config.vendor, self._clock.time())
            return password, False
        owned = record is not None and record.vendor == config.vendor
        if record is not None and not owned:
            raise DeviceConflictError("device id taken")
        with self._provisioner.serial:
            password, created = self._provision(config, owned=owned)
            now = self._clock.time()
            try:
                if created:
                    self._credentials.created(config.id, config.vendor, now)
                else:
                    self._credentials.rotated(config.id, now)
            except Exception:
                if created:
                    self._provisioner.remove(config.id)
                raise
        return password, created

    def _provision(self, config: DeviceConfig, *, owned: bool) -> tuple[str, bool]:
        """The broker account created or its password replaced (caller holds `serial`)."""
        assert self._provisioner is not None
        try:
            return self._provisioner.provision(
                config.kind, config.id, owned=owned,
                vendor_topics=self.vendor_topics(config.codec, config.id))
        except AccountConflictError as exc:
            raise DeviceConflictError(str(exc)) from exc
        except ProvisioningError as exc:
            raise BrokerUnavailableError(str(exc)) from exc

    def _behind_hub(self, codec: str) -> bool:
        dialect = self._registry.codecs.dialects.get(codec)
        return dialect is not None and bool(dialect.topics) and all(t.hub for t in dialect.topics)

    def vendor_topics(self, codec: str, device_id: str) -> tuple[str, ...]:
        """The dialect topics the device's own account may publish on (its id filled in).

        Topics a hub publishes (Zigbee2MQTT) are not the device's: its hub account has them.
        """
        dialect = self._registry.codecs.dialects.get(codec)
        if dialect is None:
            return ()
        return tuple(t.device_topic(device_id) for t in dialect.topics if not t.hub)

    def _follow_registration(self, config: DeviceConfig, existing: DeviceRecord | None) -> None:
        """Staff changed a provisioned device's codec or kind: its broker ACL follows (the
        kind is in its topics, the dialect names its own)."""
        if (existing is None or (existing.codec, existing.kind) == (config.codec, config.kind)
                or self._provisioner is None or self._credentials.get(config.id) is None):
            return
        with self._provisioner.serial:
            try:
                if self._behind_hub(config.codec):
                    # Its hub speaks for it now: an account of its own would let anyone
                    # holding the old password read its confirmations.
                    self._provisioner.remove(config.id)
                    return
                self._provisioner.set_acls(device_role(config.id), device_acls(
                    config.kind, config.id, self.vendor_topics(config.codec, config.id)))
            except ProvisioningError as exc:
                raise BrokerUnavailableError(str(exc)) from exc

    def rotate(self, device_id: str, actor: Actor) -> str:
        """Issue a new password for a device's existing account (owner vendor or staff)."""
        device = self._visible(device_id, actor)
        _not_installed(device, actor, "rotate the password of")
        if self._provisioner is None:
            raise DeviceRefusedError("device credentials are not managed here (provisioning off)")
        if self._behind_hub(device.codec):
            raise DeviceRefusedError(f"device {device_id} speaks through its hub and has no "
                                     "broker account of its own (rotate the hub's password)")
        record = self._credentials.get(device_id)
        if record is None:
            raise DeviceConflictError(
                f"device {device_id} has no credentials issued by the gateway")
        with self._provisioner.serial:
            try:
                password, _ = self._provisioner.provision(
                    device.kind, device_id, owned=True,
                    vendor_topics=self.vendor_topics(device.codec, device_id))
            except AccountConflictError as exc:
                raise DeviceConflictError(str(exc)) from exc
            except ProvisioningError as exc:
                raise BrokerUnavailableError(str(exc)) from exc
            self._credentials.rotated(device_id, self._clock.time())
        self._note(actor, "device_credentials_rotate", device_id)
        return password

    # -- binding and status --------------------------------------------------------------

    def bind(self, device_id: str, binding: Binding, actor: Actor) -> DeviceRecord:
        """Place a device and (optionally) link it to a resident: staff only."""
        if actor.role not in STAFF_ROLES:
            raise NotAllowedError("binding a device to a place or resident is an operator's act")
        device = self._visible(device_id, actor)
        if binding.resident_id and not self._resident_exists(binding.resident_id):
            raise DeviceRefusedError(f"no resident {binding.resident_id!r}")
        fields = {f: getattr(device, f) for f in HARDWARE_FIELDS}
        fields.update({f: getattr(binding, f) for f in BINDING_FIELDS})
        if binding.offline_timeout_s is not None:
            fields["offline_timeout_s"] = binding.offline_timeout_s[0]
        try:
            config = validate_config(fields, self._registry.codecs)
        except RegistryError as exc:
            raise DeviceRefusedError(str(exc)) from exc
        self._registry.register([config], status=device.status)
        self._note(actor, "device_bind", device_id,
                   " ".join(f"{f}={getattr(binding, f) or ''}" for f in BINDING_FIELDS)
                   + (f" offline_timeout_s={binding.offline_timeout_s[0] or 'default'}"
                      if binding.offline_timeout_s is not None else ""))
        updated = self._registry.get(device_id)
        assert updated is not None
        return updated

    def set_status(self, device_id: str, status: DeviceStatus, actor: Actor) -> DeviceRecord:
        """Disable (broker account too) or enable/approve a device."""
        if actor.role not in STAFF_ROLES | {"vendor"}:
            raise NotAllowedError(f"role {actor.role} cannot change devices")
        device = self._visible(device_id, actor)
        _not_installed(device, actor, "disable or enable")
        if status != "disabled":
            _may_enable(device, actor)
        # A staff disable stands until staff lift it: disabling again does not make it the
        # vendor's (to enable), while staff disabling a vendor-disabled device take it over.
        by = device.disabled_by if device.status == "disabled" and \
            not device.disabled_by_vendor else actor.role
        if self._provisioner is not None:
            try:
                if status == "disabled":
                    self._provisioner.disable(device_id)  # drops it and refuses new logins
                else:
                    self._provisioner.enable(device_id)
            except AccountConflictError as exc:
                raise DeviceConflictError(str(exc)) from exc
            except ProvisioningError as exc:
                raise BrokerUnavailableError(str(exc)) from exc
        record = self._registry.set_status(device_id, status, disabled_by=by)
        self._note(actor, f"device_{'disable' if status == 'disabled' else 'enable'}", device_id)
        return record

    def sync_broker_acls(self) -> tuple[int, int]:
        """Every provisioned device's broker ACL made current (after an upgrade narrowed it),
        and the accounts of devices that now speak through a hub removed; returns how many
        roles changed and how many accounts were removed."""
        if self._provisioner is None:
            raise DeviceRefusedError("device credentials are not managed here (provisioning off)")
        devices = [d for d in map(self._registry.get, self._credentials.provisioned())
                   if d is not None]
        behind = [d.id for d in devices if self._behind_hub(d.codec)]
        wanted = [(d.id, d.kind, self.vendor_topics(d.codec, d.id))
                  for d in devices if d.id not in behind]
        with self._provisioner.serial:
            try:
                removed = sum(self._provisioner.remove(device_id) for device_id in behind)
                return self._provisioner.sync_device_acls(wanted), removed
            except ProvisioningError as exc:
                raise BrokerUnavailableError(str(exc)) from exc

    def _visible(self, device_id: str, actor: Actor) -> DeviceRecord:
        device = self._registry.get(device_id)
        if device is None or (actor.role == "vendor" and device.vendor != actor.vendor):
            raise LookupError(f"no device {device_id!r}")
        return device

    def _note(self, actor: Actor, action: str, target: str, detail: str = "") -> None:
        self._audit.record_admin(at=self._clock.time(), actor=actor.username, role=actor.role,
                                 action=action, target=target, detail=detail,
                                 client_addr=actor.client_addr)


def _not_installed(device: DeviceRecord, actor: Actor, what: str) -> None:
    """A vendor manages its hardware until the community installs it (a place or a resident
    bound by an operator): from then on, cutting it off the broker is the operator's act —
    a vendor rotating the password of an elder's band silenced it with no alert."""
    if actor.role == "vendor" and device.installed:
        where = "serves a resident" if device.resident_id else "placed by an operator"
        raise NotAllowedError(f"device {device.id} is installed ({where}): only an operator "
                              f"may {what} it")


def _may_enable(device: DeviceRecord, actor: Actor) -> None:
    """A vendor lifts only its own disable; a disable by staff (or by nobody known, from before
    this was recorded) and the approval of a pending device are the staff's to undo."""
    if actor.role != "vendor" or device.status == "active" or device.disabled_by_vendor:
        return
    if device.status == "pending":
        raise NotAllowedError(f"device {device.id} awaits approval: only an operator may "
                              "approve it")
    who = device.disabled_by if device.disabled_by in STAFF_ROLES else "the community's staff"
    raise NotAllowedError(f"device {device.id} was disabled by {who}: only the community's "
                          "staff may enable it again")
