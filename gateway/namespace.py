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
    if lowered in {name.lower() for name in service_accounts}:
        return f"device id {device_id!r} is the name of a service account"
    return ""


def admin_client_id(gateway_client_id: str) -> str:
    """Client id of the gateway's dynamic-security admin connection."""
    return f"{gateway_client_id}-dynsec"


def service_accounts(broker: BrokerSettings, provisioning: ProvisioningSettings) -> frozenset[str]:
    """Every broker username and client id our own services use."""
    names = {broker.username, broker.client_id, admin_client_id(broker.client_id),
             provisioning.admin_username}
    return frozenset(n for n in names if n)
