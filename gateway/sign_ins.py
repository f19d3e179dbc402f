"""The sign-in attempt log: every attempt recorded (username as typed, client address,
outcome, time; never the password), without letting a throttled flood become a write flood."""

from __future__ import annotations

import threading
import unicodedata
from typing import Literal

from gateway.clock import Clock
from gateway.storage.base import Store

Outcome = Literal["ok", "wrong_password", "throttled"]
OUTCOMES: tuple[Outcome, ...] = ("ok", "wrong_password", "throttled")
USERNAME_MAX = 64
AGENT_MAX = 200
_QUIET_MAX = 50_000


def clean(text: str, limit: int) -> str:
    """At most `limit` characters, control characters (newlines, escapes) dropped."""
    return "".join(c for c in text[: limit * 2]
                   if unicodedata.category(c)[0] != "C")[:limit]


class SignInLog:
    """Writes one row per sign-in attempt, each in its own committed transaction.

    Successes and wrong passwords are always written (the login throttle bounds how fast
    wrong passwords can come). A throttled refusal is written once per client address and
    back-off window — the first refusal of the window, naming the username it tried — and
    the rest are only counted (`scgw_api_logins_total{outcome="throttled"}`), so an attacker
    hammering the door cannot turn every refused request into a database write.
    """

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._quiet_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def record(self, username: str, client_addr: str, outcome: Outcome, *,
               role: str | None = None, user_agent: str = "", retry_after: float = 0.0
               ) -> bool:
        """Log one attempt; False when a throttled refusal was only counted."""
        now = self._clock.time()
        if outcome == "throttled" and not self._first_refusal(client_addr, now, retry_after):
            return False
        with self._store.transaction() as tx:
            tx.sign_ins.record(
                at=now, username=clean(username, USERNAME_MAX), client_addr=client_addr[:64],
                outcome=outcome, role=role, user_agent=clean(user_agent, AGENT_MAX))
        return True

    def _first_refusal(self, address: str, now: float, retry_after: float) -> bool:
        with self._lock:
            if self._quiet_until.get(address, 0.0) > now:
                return False
            if len(self._quiet_until) >= _QUIET_MAX:
                self._quiet_until = {a: t for a, t in self._quiet_until.items() if t > now}
                if len(self._quiet_until) >= _QUIET_MAX:
                    self._quiet_until.clear()  # a flood of addresses: write, do not grow
            self._quiet_until[address] = now + max(retry_after, 1.0)
            return True

