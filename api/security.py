"""Access tokens (short-lived JWTs) and login back-off."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import jwt

from gateway.clock import Clock
from gateway.users import ROLES, User

ALGORITHM = "HS256"


class TokenError(Exception):
    """A token that is missing, malformed, expired or signed by someone else."""


@dataclass(frozen=True, slots=True)
class TokenService:
    """Issues and checks access tokens on the injected clock."""

    secret: str
    ttl_s: int
    clock: Clock

    def issue(self, user: User) -> str:
        """A signed token carrying the username and role."""
        now = int(self.clock.time())
        claims = {"sub": user.username, "role": user.role, "iat": now, "exp": now + self.ttl_s}
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> tuple[str, str]:
        """(username, role) of a valid token."""
        try:
            claims = jwt.decode(
                token, self.secret, algorithms=[ALGORITHM],
                options={"verify_exp": False, "require": ["sub", "role", "exp"]},
            )
        except jwt.PyJWTError as exc:
            raise TokenError(f"invalid token: {exc}") from exc
        # Expiry is checked against our clock, not the wall clock, so tests can advance it.
        if claims["exp"] <= self.clock.time():
            raise TokenError("token expired")
        if claims["role"] not in ROLES:
            raise TokenError("token names an unknown role")
        return str(claims["sub"]), str(claims["role"])


FIRST_WAIT_S = 5.0


@dataclass(slots=True)
class _Failures:
    count: int
    last: float


class LoginThrottle:
    """Back-off after wrong passwords, per (username, client address) and per address.

    No username is ever locked out: an attacker guessing from one address slows only
    themselves (the wait doubles from 5 s after `free` failures, up to `max_s`), while the
    real user logs in from their own address. An address failing across many usernames
    (password spraying) backs off the same way after `spray_free` failures. Entries are
    forgotten `forget_s` after their last failure, and at most `max_entries` are kept.
    """

    def __init__(self, clock: Clock, *, free: int = 3, max_s: float = 900.0,
                 spray_free: int = 20, forget_s: float = 3600.0,
                 max_entries: int = 100_000) -> None:
        self._clock = clock
        self._free = free
        self._max = max_s
        self._spray_free = spray_free
        self._forget = forget_s
        self._max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str], _Failures] = OrderedDict()
        self._lock = threading.Lock()

    def _keys(self, username: str, address: str) -> tuple[tuple[tuple[str, str], int], ...]:
        return (((username, address), self._free), (("", address), self._spray_free))

    def _wait(self, entry: _Failures | None, free: int, now: float) -> float:
        if entry is None or entry.count < free:
            return 0.0
        delay = min(self._max, FIRST_WAIT_S * 2.0 ** min(entry.count - free, 30))
        return max(0.0, entry.last + delay - now)

    def retry_after(self, username: str, address: str) -> float:
        """Seconds until this username may try again from this address (0: now)."""
        now = self._clock.time()
        with self._lock:
            self._expire(now)
            return max(self._wait(self._entries.get(key), free, now)
                       for key, free in self._keys(username, address))

    def failed(self, username: str, address: str) -> None:
        """Record a wrong password."""
        now = self._clock.time()
        with self._lock:
            for key, _ in self._keys(username, address):
                entry = self._entries.pop(key, None) or _Failures(0, now)
                entry.count += 1
                entry.last = now
                self._entries[key] = entry  # most recent last
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def succeeded(self, username: str, address: str) -> None:
        """A good login clears that username's failures from that address."""
        with self._lock:
            self._entries.pop((username, address), None)

    def _expire(self, now: float) -> None:
        while self._entries:
            key, entry = next(iter(self._entries.items()))
            if entry.last > now - self._forget:
                break
            del self._entries[key]
