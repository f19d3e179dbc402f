"""Access tokens (short-lived JWTs) and login throttling."""

from __future__ import annotations

import threading
from collections import defaultdict, deque
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


class LoginThrottle:
    """Refuses a username (or client address) after too many failures within a window."""

    def __init__(self, clock: Clock, max_failures: int = 5, window_s: float = 300.0) -> None:
        self._clock = clock
        self._max = max_failures
        self._window = window_s
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def retry_after(self, *keys: str) -> float:
        """Seconds until a login under any of `keys` is allowed again (0: allowed now)."""
        now = self._clock.time()
        wait = 0.0
        with self._lock:
            for key in keys:
                q = self._failures[key]
                while q and q[0] <= now - self._window:
                    q.popleft()
                if len(q) >= self._max:
                    wait = max(wait, q[0] + self._window - now)
        return wait

    def failed(self, *keys: str) -> None:
        """Record a failed attempt."""
        now = self._clock.time()
        with self._lock:
            for key in keys:
                self._failures[key].append(now)

    def succeeded(self, *keys: str) -> None:
        """Forget the failures of a key after a good login."""
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
