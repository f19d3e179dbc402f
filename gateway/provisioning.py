"""Per-device MQTT credentials in Mosquitto's dynamic-security plugin ($CONTROL topic API)."""

from __future__ import annotations

import itertools
import logging
import secrets
import threading
from typing import Any
from urllib.parse import urlsplit

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from devices import topics
from gateway.settings import BrokerSettings, ProvisioningSettings

log = logging.getLogger(__name__)

CONTROL = "$CONTROL/dynamic-security/v1"


class ProvisioningError(Exception):
    """The broker refused or did not answer a dynamic-security command."""


def device_acls(kind: str, device_id: str) -> list[dict[str, Any]]:
    """What a device may do: publish under its own topics, subscribe to its own commands."""
    return [
        {"acltype": "publishClientSend", "topic": f"{topics.PREFIX}/{kind}/{device_id}/#",
         "allow": True},
        {"acltype": "subscribePattern", "topic": topics.command_topic(kind, device_id),
         "allow": True},
        {"acltype": "publishClientReceive", "topic": topics.command_topic(kind, device_id),
         "allow": True},
    ]


class DynsecProvisioner:
    """Creates, disables and re-enables device accounts through the broker's admin API."""

    def __init__(self, broker: BrokerSettings, settings: ProvisioningSettings,
                 timeout_s: float = 10.0) -> None:
        self._broker = broker
        self._settings = settings
        self._timeout = timeout_s
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._waiting: dict[str, tuple[threading.Event, list[dict[str, Any]]]] = {}
        self._client: paho.Client | None = None

    def _connect(self) -> paho.Client:
        if self._client is not None and self._client.is_connected():
            return self._client
        parts = urlsplit(self._broker.url)
        client = paho.Client(CallbackAPIVersion.VERSION2,
                             client_id=f"{self._broker.client_id}-dynsec")
        password = self._settings.admin_password
        client.username_pw_set(self._settings.admin_username,
                               password.get_secret_value() if password else None)
        client.on_message = self._on_response
        subscribed = threading.Event()
        client.on_subscribe = lambda *args: subscribed.set()
        if client.connect(parts.hostname or "127.0.0.1", parts.port or 1883) != 0:
            raise ProvisioningError("cannot connect to the broker's admin API")
        client.subscribe(f"{CONTROL}/response", qos=1)
        client.loop_start()
        if not subscribed.wait(self._timeout):
            client.loop_stop()
            raise ProvisioningError("broker did not confirm the admin subscription")
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

    def _run(self, command: str, tolerate: tuple[str, ...] = (), **fields: Any) -> None:
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

    def provision(self, kind: str, device_id: str) -> str:
        """Create (or reset) the device's account and role; return its new password once."""
        password = secrets.token_urlsafe(18)
        role = f"device-{device_id}"
        self._run("createRole", tolerate=("already exists",), rolename=role,
                  acls=device_acls(kind, device_id))
        try:
            self._run("createClient", username=device_id, password=password,
                      roles=[{"rolename": role}])
        except ProvisioningError as exc:
            if "already exists" not in str(exc):
                raise
            self._run("setClientPassword", username=device_id, password=password)
            self._run("enableClient", username=device_id)
        log.info("device credentials provisioned", extra={"device_id": device_id})
        return password

    def ensure_gateway_account(self, username: str, password: str) -> None:
        """The gateway's own account: read every device topic, write every command topic."""
        role = "scgw-gateway"
        acls = [
            {"acltype": "subscribePattern", "topic": f"{topics.PREFIX}/#", "allow": True},
            {"acltype": "publishClientReceive", "topic": f"{topics.PREFIX}/#", "allow": True},
            {"acltype": "publishClientSend", "topic": f"{topics.PREFIX}/+/+/cmd",
             "allow": True},
        ]
        self._run("createRole", tolerate=("already exists",), rolename=role, acls=acls)
        try:
            self._run("createClient", username=username, password=password,
                      roles=[{"rolename": role}])
        except ProvisioningError as exc:
            if "already exists" not in str(exc):
                raise
            self._run("setClientPassword", username=username, password=password)

    def disable(self, device_id: str) -> None:
        """Revoke: the broker refuses the account's logins and drops its connection."""
        self._run("disableClient", tolerate=("not found",), username=device_id)

    def enable(self, device_id: str) -> None:
        """Allow the account to log in again."""
        self._run("enableClient", tolerate=("not found",), username=device_id)

    def close(self) -> None:
        """Disconnect the admin client."""
        if self._client is not None:
            self._client.loop_stop()
            self._client.disconnect()
            self._client = None
