"""Per-device MQTT accounts in Mosquitto's dynamic-security plugin ($CONTROL topic API).

Device ids, client ids and service accounts are separate namespaces that the broker enforces:
a device account is created with `clientid` = its username (the broker refuses any other
client id for it, so it cannot resume someone else's session), it is marked as ours with a
`textdescription`, and provisioning never touches an account it did not create for that
device. Every check happens before the first change, so a refusal changes nothing.
"""

from __future__ import annotations

import itertools
import logging
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from devices import topics
from devices.vendors import builtin_codecs
from gateway.namespace import admin_client_id, device_id_refusal, service_accounts
from gateway.settings import BrokerSettings, ProvisioningSettings

log = logging.getLogger(__name__)

CONTROL = "$CONTROL/dynamic-security/v1"
# Written on every device account we create; an account without it is not ours to change.
DEVICE_MARK = "scgw-device"
GATEWAY_MARK = "scgw-gateway"
GATEWAY_ROLE = "scgw-gateway"
HUB_MARK = "scgw-hub"


class ProvisioningError(Exception):
    """The broker refused or did not answer a dynamic-security command."""


class AccountConflictError(ProvisioningError):
    """The broker already has an account of that name that provisioning may not change."""


def device_role(device_id: str) -> str:
    """The dynsec role holding one device's ACL."""
    return f"device-{device_id}"


def device_acls(kind: str, device_id: str,
                vendor_topics: Sequence[str] = ()) -> list[dict[str, Any]]:
    """What a device may do: publish on its own four channels, read only what is sent to it.

    The channels exactly, not `…/<id>/#`: the broker keeps a retained message per topic for
    ever, so a wildcard would let one device fill the broker's memory and disk with retained
    messages on invented sub-topics. Mosquitto 2.0 answers a publish on a misspelt channel
    by closing the connection (after a PUBACK, 0x87 under MQTT 5), as AWS IoT does.
    `vendor_topics` are its dialect's own topics with its id filled in (`owntracks/<id>/+`):
    another device's id never appears in them.
    """
    acls: list[dict[str, Any]] = [
        {"acltype": "publishClientSend", "topic": topics.topic(kind, device_id, suffix),
         "allow": True, "priority": 0} for suffix in topics.INBOUND_SUFFIXES
    ]
    acls += [{"acltype": "publishClientSend", "topic": topic, "allow": True, "priority": 0}
             for topic in vendor_topics]
    for suffix in topics.OUTBOUND_SUFFIXES:
        own = topics.topic(kind, device_id, suffix)
        # Evaluated first: a device may read what is sent to it, never write it (it could
        # otherwise forge its own confirmations or commands) — even on a broker whose default
        # lets clients publish what no ACL names.
        acls += [{"acltype": "publishClientSend", "topic": own, "allow": False, "priority": 1},
                 {"acltype": "subscribePattern", "topic": own, "allow": True},
                 {"acltype": "publishClientReceive", "topic": own, "allow": True}]
    return acls


def hub_acls(hub_topics: Sequence[str]) -> list[dict[str, Any]]:
    """A hub (Zigbee2MQTT) account: its own base topic only, so only its own devices."""
    acls: list[dict[str, Any]] = []
    for base in hub_topics:
        acls += [{"acltype": "publishClientSend", "topic": base, "allow": True},
                 {"acltype": "subscribePattern", "topic": base, "allow": True},
                 {"acltype": "publishClientReceive", "topic": base, "allow": True}]
    return acls


def gateway_acls(vendor_filters: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The gateway's own role: read every device topic, write what goes to devices."""
    acls: list[dict[str, Any]] = [
        {"acltype": "subscribePattern", "topic": f"{topics.PREFIX}/#", "allow": True},
        {"acltype": "publishClientReceive", "topic": f"{topics.PREFIX}/#", "allow": True},
    ]
    for vendor in vendor_filters:  # the dialects' topics (owntracks/+/+, …): read only
        acls += [{"acltype": "subscribePattern", "topic": vendor, "allow": True},
                 {"acltype": "publishClientReceive", "topic": vendor, "allow": True}]
    # Replicas subscribe through a shared subscription, and Mosquitto checks the ACL of a
    # subscription with its `$share/<group>/` prefix: the same filters, under any group.
    acls += [{"acltype": "subscribePattern", "topic": f"$share/+/{acl['topic']}",
              "allow": True} for acl in list(acls) if acl["acltype"] == "subscribePattern"]
    acls += [{"acltype": "publishClientSend", "topic": f"{topics.PREFIX}/+/+/{suffix}",
              "allow": True} for suffix in topics.OUTBOUND_SUFFIXES]
    return acls


@dataclass(frozen=True, slots=True)
class BrokerAccount:
    """What the broker holds about one account (from `getClient`)."""

    username: str
    clientid: str | None
    textname: str
    textdescription: str
    roles: tuple[str, ...]
    disabled: bool


class DynsecProvisioner:
    """Creates, rotates, disables and re-enables device accounts through the admin API."""

    def __init__(self, broker: BrokerSettings, settings: ProvisioningSettings) -> None:
        self._broker = broker
        self._settings = settings
        self._timeout = settings.admin_timeout_s
        self._lock = threading.Lock()
        # One provisioning at a time: check-then-create must not interleave for one id.
        self.serial = threading.Lock()
        self._ids = itertools.count(1)
        self._waiting: dict[str, tuple[threading.Event, list[dict[str, Any]]]] = {}
        self._client: paho.Client | None = None

    @property
    def service_accounts(self) -> frozenset[str]:
        """Broker accounts of our own services, which no device may ever be named."""
        return service_accounts(self._broker, self._settings)

    def _connect(self) -> paho.Client:
        if self._client is not None and self._client.is_connected():
            return self._client
        if self._client is not None:  # lost and not yet back: start afresh
            self._client.loop_stop()
            self._client = None
        parts = urlsplit(self._broker.url)
        # A client id of its own per connection: the CLI and a running gateway may both
        # administer at once, and one must never take over the other's session.
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=admin_client_id(
            self._broker.client_id, secrets.token_hex(4)))
        password = self._settings.admin_password
        client.username_pw_set(self._settings.admin_username,
                               password.get_secret_value() if password else None)
        client.on_message = self._on_response
        subscribed = threading.Event()
        client.on_subscribe = lambda *args: subscribed.set()

        def on_connect(c: paho.Client, userdata: object, flags: object, reason: Any,
                       properties: object) -> None:
            if not reason.is_failure:  # again after every reconnect: the session is clean
                c.subscribe(f"{CONTROL}/response", qos=1)

        client.on_connect = on_connect
        try:
            rc = client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
        except OSError as exc:
            raise ProvisioningError(f"cannot reach the broker's admin API: {exc}") from exc
        if rc != 0:
            raise ProvisioningError("cannot connect to the broker's admin API")
        client.loop_start()
        if not subscribed.wait(self._timeout):
            client.loop_stop()
            raise ProvisioningError(
                f"broker did not confirm the admin subscription (is "
                f"{self._settings.admin_username!r} the dynamic-security admin?)")
        self._client = client
        return client

    def _on_response(self, client: paho.Client, userdata: object,
                     msg: paho.MQTTMessage) -> None:
        try:
            body = orjson.loads(msg.payload)
        except orjson.JSONDecodeError:
            log.warning("unreadable dynamic-security response")
            return
        for response in body.get("responses", []):
            waiter = self._waiting.get(str(response.get("correlationData")))
            if waiter is not None:
                waiter[1].append(response)
                waiter[0].set()

    def _run(self, command: str, tolerate: tuple[str, ...] = (),
             **fields: Any) -> dict[str, Any]:
        with self._lock:
            client = self._connect()
            correlation = f"scgw-{next(self._ids)}"
            done: threading.Event = threading.Event()
            answers: list[dict[str, Any]] = []
            self._waiting[correlation] = (done, answers)
        try:
            payload = {"commands": [{"command": command, "correlationData": correlation,
                                     **fields}]}
            client.publish(CONTROL, orjson.dumps(payload), qos=1)
            if not done.wait(self._timeout):
                raise ProvisioningError(f"{command}: no answer from the broker")
        finally:
            self._waiting.pop(correlation, None)
        error = answers[0].get("error")
        if error and not any(t in error for t in tolerate):
            raise ProvisioningError(f"{command}: {error}")
        return answers[0].get("data") or {}

    def account(self, username: str) -> BrokerAccount | None:
        """The broker's record of an account, or None when there is none."""
        try:
            data = self._run("getClient", username=username)
        except ProvisioningError as exc:
            if "not found" in str(exc).lower():
                return None
            raise
        client = data.get("client") or {}
        return BrokerAccount(
            username=str(client.get("username", username)),
            clientid=client.get("clientid"),
            textname=str(client.get("textname", "")),
            textdescription=str(client.get("textdescription", "")),
            roles=tuple(str(r.get("rolename")) for r in client.get("roles", [])),
            disabled=bool(client.get("disabled", False)),
        )

    def _check_ours(self, device_id: str, account: BrokerAccount) -> None:
        if account.textname != DEVICE_MARK or account.textdescription != device_id:
            raise AccountConflictError(
                f"the broker already has an account named {device_id!r} that was not created "
                "for this device; it is left unchanged")

    def provision(self, kind: str, device_id: str, *, owned: bool,
                  vendor_topics: Sequence[str] = ()) -> tuple[str, bool]:
        """Create the device's account, or rotate its password; return (password, created).

        `owned` says the registry records this device's credentials as ours (created for it
        before): only then may an existing broker account's password be rotated (and its ACL
        brought up to date with its dialect's `vendor_topics`).
        """
        reason = device_id_refusal(device_id, self.service_accounts)
        if reason:
            raise AccountConflictError(reason)
        password = secrets.token_urlsafe(18)
        existing = self.account(device_id)
        if existing is not None:
            self._check_ours(device_id, existing)
            if not owned:
                raise AccountConflictError(
                    f"broker account {device_id!r} exists but the registry does not record "
                    "it as provisioned for this device; it is left unchanged")
            if existing.clientid != device_id:  # accounts from before the client-id binding
                self._run("setClientId", username=device_id, clientid=device_id)
            self.set_acls(device_role(device_id), device_acls(kind, device_id, vendor_topics))
            # The password last: if anything before it fails, the device's login still works.
            self._run("setClientPassword", username=device_id, password=password)
            log.info("device password rotated", extra={"device_id": device_id})
            return password, False
        role = device_role(device_id)
        self._run("createRole", tolerate=("already exists",), rolename=role,
                  acls=device_acls(kind, device_id, vendor_topics))
        # A role left from an earlier account of this id may hold another dialect's topics.
        self.set_acls(role, device_acls(kind, device_id, vendor_topics))
        self._run("createClient", username=device_id, password=password, clientid=device_id,
                  textname=DEVICE_MARK, textdescription=device_id,
                  roles=[{"rolename": role}])
        log.info("device credentials provisioned", extra={"device_id": device_id})
        return password, True

    def set_acls(self, rolename: str, wanted: list[dict[str, Any]]) -> None:
        """Make a role's ACL exactly `wanted` (adds what is missing, removes the rest)."""
        role = self._run("getRole", rolename=rolename).get("role") or {}
        have = {(a.get("acltype"), a.get("topic")): a for a in role.get("acls", [])}
        want = {(a["acltype"], a["topic"]): a for a in wanted}
        for key, acl in want.items():
            old = have.get(key)
            if old is not None and bool(old.get("allow")) == acl["allow"] and int(
                    old.get("priority", 0)) == acl.get("priority", 0):
                continue
            if old is not None:
                self._run("removeRoleACL", rolename=rolename, acltype=key[0], topic=key[1])
            self._run("addRoleACL", rolename=rolename, **acl)
        for acltype, topic in set(have) - set(want):
            self._run("removeRoleACL", rolename=rolename, acltype=acltype, topic=topic)

    def provision_hub(self, hub: str, hub_topics: Sequence[str]) -> tuple[str, bool]:
        """The account of a hub (one Zigbee2MQTT instance); (password, created).

        A hub is not a device: it publishes for the devices named `<hub>-<name>`, and its
        ACL covers its own base topic only. An account of that name made for anything else
        is refused; an existing hub account gets a new password and a current ACL.
        """
        reason = device_id_refusal(hub, self.service_accounts)
        if reason:
            raise AccountConflictError(reason.replace("device id", "hub name"))
        password = secrets.token_urlsafe(18)
        role = f"hub-{hub}"
        existing = self.account(hub)
        if existing is not None:
            if existing.textname != HUB_MARK or existing.textdescription != hub:
                raise AccountConflictError(
                    f"the broker already has an account named {hub!r} that is not this hub's")
            self.set_acls(role, hub_acls(hub_topics))
            self._run("setClientPassword", username=hub, password=password)
            return password, False
        self._run("createRole", tolerate=("already exists",), rolename=role,
                  acls=hub_acls(hub_topics))
        self.set_acls(role, hub_acls(hub_topics))
        self._run("createClient", username=hub, password=password, clientid=hub,
                  textname=HUB_MARK, textdescription=hub, roles=[{"rolename": role}])
        log.info("hub credentials provisioned", extra={"hub": hub})
        return password, True

    def remove(self, device_id: str) -> bool:
        """Delete a device's account (only one we marked as ours); whether one was deleted."""
        existing = self.account(device_id)
        if existing is not None and existing.textname == DEVICE_MARK:
            self._run("deleteClient", username=device_id)
            return True
        return False

    def ensure_gateway_account(self, username: str, password: str, client_id: str,
                               vendor_filters: Sequence[str] | None = None) -> str:
        """The gateway's own account, bound to its client id; returns what was done.

        Idempotent: creates the account, or (when it is already the gateway's) sets its
        password and client id. An account of that name made for anything else is refused.
        """
        if vendor_filters is None:  # the gateway subscribes to the built-in dialects' topics
            vendor_filters = builtin_codecs().vendor_filters()
        self._run("createRole", tolerate=("already exists",), rolename=GATEWAY_ROLE,
                  acls=gateway_acls(vendor_filters))
        # A role that existed before may predate channels added since: make its ACL current.
        for acl in gateway_acls(vendor_filters):
            self._run("addRoleACL", tolerate=("already exists",), rolename=GATEWAY_ROLE,
                      **acl)
        existing = self.account(username)
        if existing is None:
            self._run("createClient", username=username, password=password, clientid=client_id,
                      textname=GATEWAY_MARK, roles=[{"rolename": GATEWAY_ROLE}])
            return "created"
        if existing.textname not in (GATEWAY_MARK, "") or existing.textdescription:
            raise AccountConflictError(f"broker account {username!r} is not a gateway account")
        if GATEWAY_ROLE not in existing.roles:
            raise AccountConflictError(f"broker account {username!r} lacks role {GATEWAY_ROLE}")
        if existing.clientid != client_id:
            self._run("setClientId", username=username, clientid=client_id)
        self._run("setClientPassword", username=username, password=password)
        return "updated"

    def sync_device_acls(self, devices: Sequence[tuple[str, str, Sequence[str]]]) -> int:
        """Bring the roles of provisioned devices — (id, kind, dialect topics) — to the
        current ACL (after an upgrade that narrowed it); returns how many were changed.

        An account the broker does not have, or that is not ours, is left alone."""
        changed = 0
        for device_id, kind, vendor_topics in devices:
            existing = self.account(device_id)
            if (existing is None or existing.textname != DEVICE_MARK
                    or existing.textdescription != device_id):
                continue
            role = self._run("getRole", rolename=device_role(device_id)).get("role") or {}
            wanted = device_acls(kind, device_id, vendor_topics)
            if _acl_set(role.get("acls", [])) != _acl_set(wanted):
                self.set_acls(device_role(device_id), wanted)
                changed += 1
        return changed

    def disable(self, device_id: str) -> None:
        """Revoke: the broker refuses the account's logins and drops its connection."""
        self._set_enabled(device_id, enabled=False)

    def enable(self, device_id: str) -> None:
        """Allow the account to log in again."""
        self._set_enabled(device_id, enabled=True)

    def _set_enabled(self, device_id: str, *, enabled: bool) -> None:
        existing = self.account(device_id)
        if existing is None:
            return  # a device registered without broker credentials
        self._check_ours(device_id, existing)
        self._run("enableClient" if enabled else "disableClient", username=device_id)

    def close(self) -> None:
        """Disconnect the admin client."""
        if self._client is not None:
            self._client.loop_stop()
            self._client.disconnect()
            self._client = None


def _acl_set(acls: Sequence[dict[str, Any]]) -> set[tuple[object, ...]]:
    """A role's ACL as comparable entries (the broker omits a priority of 0)."""
    return {(a.get("acltype"), a.get("topic"), bool(a.get("allow")), int(a.get("priority", 0)))
            for a in acls}
