"""The device-id namespace: which ids a device may have, apart from every service account.

A device id is also the device's broker username and client id, so an id that names one of
our services (the gateway's account, the dynamic-security admin) would hand that account to
whoever registered the device. Such ids are refused, whatever their case.
"""

from __future__ import annotations

import re

from gateway.settings import BrokerSettings, ProvisioningSettings

DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
# Prefixes kept for service accounts and broker internals (compared case-insensitively).
RESERVED_PREFIXES: tuple[str, ...] = ("scgw", "dynsec", "admin", "mosquitto", "gateway",
                                      "root", "system", "service", "svc")


def device_id_refusal(device_id: str, service_accounts: frozenset[str] = frozenset()) -> str:
    """Why `device_id` cannot name a device ('' when it can)."""
    if not DEVICE_ID.match(device_id):
        return (f"device id {device_id!r} must be 1–64 letters, digits, '-' or '_', "
                "starting with a letter or digit")
    lowered = device_id.lower()
    for prefix in RESERVED_PREFIXES:
        if lowered.startswith(prefix):
            return f"device id {device_id!r}: the prefix {prefix!r} is reserved for services"
    for name in service_accounts:
        # The names our services use, and everything they derive from them (the admin
        # connection's client ids, say), belong to the services.
        if lowered.startswith(name.lower()):
            return f"device id {device_id!r} begins with the service account name {name!r}"
    return ""


def admin_client_id(gateway_client_id: str, suffix: str) -> str:
    """Client id of one dynamic-security admin connection (under the gateway's own id)."""
    return f"{gateway_client_id}-dynsec-{suffix}"


def service_accounts(broker: BrokerSettings, provisioning: ProvisioningSettings) -> frozenset[str]:
    """Every broker username and client id our own services use (and derive ids from)."""
    names = {broker.username, broker.client_id, provisioning.admin_username}
    return frozenset(n for n in names if n)
