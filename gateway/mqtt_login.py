"""The gateway's way in to the broker: the socket (TLS when set), and what a refused login or
subscription means, said so an operator can act on it."""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Collection, Sequence

from gateway.settings import BrokerSettings

log = logging.getLogger(__name__)


def open_socket(s: BrokerSettings, timeout_s: float) -> socket.socket:
    """A connected socket to the broker, TLS-wrapped when the settings say so."""
    sock = socket.create_connection((s.host, s.port), timeout=timeout_s)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if s.tls:
        context = ssl.create_default_context(
            cafile=str(s.tls_ca_file) if s.tls_ca_file else None)
        if s.tls_cert_file:
            context.load_cert_chain(
                str(s.tls_cert_file), str(s.tls_key_file) if s.tls_key_file else None)
        if s.tls_insecure:
            context.check_hostname = False
        try:
            sock = context.wrap_socket(sock, server_hostname=s.host)
        except (OSError, ssl.SSLError):
            sock.close()
            raise
    return sock


def login_refusal(s: BrokerSettings, code: int, reason: str | None) -> str:
    """What a refused CONNECT means, for /health and the log."""
    why = f"0x{code:02x}" + (f", {reason}" if reason else "")
    return (f"the broker refused the gateway's login as {s.username!r} with client id "
            f"{s.client_id!r} (reason code {why}): check SCGW_BROKER__PASSWORD, and that "
            "the account exists and is bound to this client id (`scgw broker provision`)")


def judge_suback(filters: Sequence[str], codes: Sequence[int], optional: Collection[str],
                 ) -> tuple[list[tuple[str, int]], list[str]]:
    """(the refused subscriptions that stop the gateway, the optional ones left unread).

    Refused subscriptions of a dialect's own topics only (a dialect file installed before
    the broker was provisioned for it) leave everything else served, and the operator is
    told — stopping the whole gateway left every device unserved (vendor round 3)."""
    failed = [(f, c) for f, c in zip(filters, codes, strict=False) if c >= 0x80]
    skipped = [(f, c) for f, c in failed if f in optional]
    if not skipped or len(skipped) != len(failed):
        return failed, []
    log.error("the broker refused the gateway's subscription to %s (reason 0x%02x): "
              "those dialect devices are not read until `scgw broker provision` gives "
              "role scgw-gateway those topics and the gateway reconnects",
              ", ".join(repr(f) for f, _ in skipped), skipped[0][1])
    return [], [f for f, _ in skipped]


def subscription_refusal(topic: str, code: int) -> str:
    """What a refused SUBSCRIBE means, for /health and the log."""
    return (f"the broker refused the gateway's subscription to {topic!r} (reason "
            f"code 0x{code:02x}): its account lacks permission to subscribe there "
            f"(role scgw-gateway needs subscribePattern {topic!r}: run `scgw broker "
            "provision` again — after an upgrade or a new dialect file, its role may predate "
            "the topics read now)")
