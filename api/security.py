"""Access tokens (short-lived JWTs), sessions with rotating refresh tokens, login back-off."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass

import jwt

from gateway.clock import Clock
from gateway.users import ROLES, Session, SessionRepository, User

ALGORITHM = "HS256"


class TokenError(Exception):
    """A token that is missing, malformed, expired or signed by someone else."""


@dataclass(frozen=True, slots=True)
class TokenService:
    """Issues and checks access tokens on the injected clock."""

    secret: str
    ttl_s: int
    clock: Clock

    def issue(self, user: User, session_id: str) -> str:
        """A signed token carrying the username, role and the session it belongs to."""
        now = int(self.clock.time())
        claims = {"sub": user.username, "role": user.role, "sid": session_id, "iat": now,
                  "exp": now + self.ttl_s}
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> tuple[str, str, str]:
        """(username, role, session id) of a valid token."""
        try:
            claims = jwt.decode(
                token, self.secret, algorithms=[ALGORITHM],
                options={"verify_exp": False, "require": ["sub", "role", "sid", "exp"]},
            )
        except jwt.PyJWTError as exc:
            raise TokenError(f"invalid token: {exc}") from exc
        # Expiry is checked against our clock, not the wall clock, so tests can advance it.
        if claims["exp"] <= self.clock.time():
            raise TokenError("token expired")
        if claims["role"] not in ROLES:
            raise TokenError("token names an unknown role")
        return str(claims["sub"]), str(claims["role"]), str(claims["sid"])


class SessionError(Exception):
    """A session that has ended (revoked, idle too long, past its absolute limit) or a
    refresh token that does not renew one; `reason` is shown to the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# A refresh token presented again this soon after it was rotated is a race between two tabs
# (they share the cookie), not a stolen token: it gets an access token, not a new cookie.
ROTATION_GRACE_S = 30.0
# Use is written at most this often per session (every request would be a write).
TOUCH_EVERY_S = 60.0


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Renewal:
    """What a refresh gives: the session and, unless it was a benign race, a new cookie."""

    session: Session
    refresh_token: str | None


class SessionService:
    """Sign-in sessions: limits per role, rotating refresh tokens with reuse detection.

    The refresh token is `<session id>.<secret>`; only a hash of the secret is stored, and
    the secret carries a MAC, so one this service issued is known as such. A token that
    names a live session, was issued for it, but is neither its current nor (within the
    grace) its previous secret was copied: the session is revoked, so the thief and the
    owner are both asked for the password, and the owner's next login starts clean. A
    secret that was never issued (a guess by someone who knows the session id) is refused
    and ends nothing.
    """

    def __init__(self, repo: SessionRepository, clock: Clock, idle_s: dict[str, int],
                 absolute_s: dict[str, int], key: str = "") -> None:
        self.repo = repo
        self._clock = clock
        self._idle = idle_s
        self._absolute = absolute_s
        # Signs each refresh secret, so a secret this service once issued for a session can
        # be told from a guess: only the first, replayed, revokes the session.
        self._key = hashlib.sha256(f"scgw-refresh\x1f{key}".encode()).digest() if key \
            else secrets.token_bytes(32)

    def _secret(self, session_id: str) -> str:
        nonce = secrets.token_urlsafe(32)
        return f"{nonce}.{self._tag(session_id, nonce)}"

    def _tag(self, session_id: str, nonce: str) -> str:
        mac = hmac.new(self._key, f"{session_id}\x1f{nonce}".encode(), hashlib.sha256)
        return mac.hexdigest()[:32]

    def _issued(self, session_id: str, secret: str) -> bool:
        """Whether this service issued `secret` for the session (at any rotation)."""
        nonce, _, tag = secret.rpartition(".")
        return bool(nonce) and hmac.compare_digest(tag, self._tag(session_id, nonce))

    def start(self, user: User, client_addr: str = "", user_agent: str = "") -> tuple[
            Session, str]:
        """A new session for a user who just typed the password; returns it and its refresh
        token."""
        now = self._clock.time()
        session_id = secrets.token_urlsafe(16)
        secret = self._secret(session_id)
        session = Session(
            id=session_id, username=user.username, role=user.role,
            created_at=now, last_used_at=now,
            idle_s=float(self._idle.get(user.role, 1800)),
            expires_at=now + float(self._absolute.get(user.role, 43_200)),
            refresh_hash=_digest(secret), client_addr=client_addr[:64],
            user_agent=user_agent[:200])
        self.repo.insert(session)
        return session, f"{session.id}.{secret}"

    def check(self, session_id: str, *, use: bool = True) -> Session:
        """The live session an access token names (recording use unless `use` is false: an
        open live stream alone does not keep a session from idling); SessionError if ended."""
        session = self.repo.get(session_id)
        now = self._clock.time()
        self._alive(session, now)
        assert session is not None
        if use and now - session.last_used_at >= TOUCH_EVERY_S:
            self.repo.touch(session.id, now)
        return session

    def refresh(self, token: str) -> Renewal:
        """Renew a session from its refresh token, rotating the token."""
        session_id, _, secret = token.partition(".")
        session = self.repo.get(session_id) if secret else None
        now = self._clock.time()
        self._alive(session, now)
        assert session is not None
        digest = _digest(secret)
        if hmac.compare_digest(digest, session.refresh_hash):
            fresh = self._secret(session.id)
            if self.repo.rotate(session.id, digest, _digest(fresh), now):
                session.last_used_at = now
                return Renewal(session, f"{session.id}.{fresh}")
            session = self.repo.get(session_id)  # another tab rotated it a moment ago
            assert session is not None
        benign = (session.previous_hash is not None and session.rotated_at is not None
                  and hmac.compare_digest(digest, session.previous_hash)
                  and now - session.rotated_at <= ROTATION_GRACE_S)
        if benign:
            return Renewal(session, None)
        if not self._issued(session.id, secret):
            # A guess at a session whose id is known (every access token names it): refused,
            # and the session goes on — only a copy of a real token shows it was stolen.
            raise SessionError("not a refresh token of this session")
        self.repo.revoke(session.id, now, "refresh token reused")
        raise SessionError("refresh token reused; session revoked")

    def end(self, session_id: str, reason: str) -> None:
        """Revoke one session (logout)."""
        self.repo.revoke(session_id, self._clock.time(), reason)

    def end_by_token(self, token: str, reason: str) -> bool:
        """Revoke the session a refresh token belongs to — only when the token is the
        session's current or previous secret (the session id alone, which access tokens and
        the admins' session list show, ends nobody's session). Whether one ended."""
        session_id, _, secret = token.partition(".")
        session = self.repo.get(session_id) if session_id and secret else None
        if session is None or session.revoked_at is not None:
            return False
        digest = _digest(secret)
        if not (hmac.compare_digest(digest, session.refresh_hash) or (
                session.previous_hash is not None
                and hmac.compare_digest(digest, session.previous_hash))):
            return False
        self.end(session.id, reason)
        return True

    @staticmethod
    def _alive(session: Session | None, now: float) -> None:
        if session is None:
            raise SessionError("no such session")
        if session.revoked_at is not None:
            raise SessionError(f"session ended: {session.revoked_reason or 'revoked'}")
        if now >= session.expires_at:
            raise SessionError("session reached its time limit")
        if now - session.last_used_at > session.idle_s:
            raise SessionError("session idle too long")


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
    (password spraying) backs off the same way after `spray_free` failures — but not for a
    username that signed in from that address before (within `trusted_s`): a spray from a
    shared address (a carrier-grade NAT, a compound's Wi-Fi, the office) then held every real
    user behind it out for up to 15 minutes (red team round 8). Entries are forgotten
    `forget_s` after their last failure, and at most `max_entries` are kept.
    """

    def __init__(self, clock: Clock, *, free: int = 3, max_s: float = 900.0,
                 spray_free: int = 20, forget_s: float = 3600.0,
                 max_entries: int = 100_000, trusted_s: float = 30 * 86_400.0) -> None:
        self._clock = clock
        self._free = free
        self._max = max_s
        self._spray_free = spray_free
        self._forget = forget_s
        self._max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str], _Failures] = OrderedDict()
        self._pending: dict[tuple[str, str], int] = {}
        # (username, address) → when it last signed in there (in memory: after a restart a
        # user is trusted again at their next good password).
        self._trusted: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._trusted_s = trusted_s
        self._held: dict[tuple[str, str], list[list[tuple[str, str]]]] = {}
        self._lock = threading.Lock()

    def _keys(self, username: str, address: str) -> tuple[tuple[tuple[str, str], int], ...]:
        own = ((username, address), self._free)
        known = self._trusted.get((username, address))
        if known is not None and known > self._clock.time() - self._trusted_s:
            return (own,)
        return (own, (("", address), self._spray_free))

    def _wait(self, key: tuple[str, str], free: int, now: float) -> float:
        # Attempts still being checked count as failures made now: a burst of parallel
        # guesses is judged as if they had come one after the other.
        entry = self._entries.get(key)
        pending = self._pending.get(key, 0)
        count = (entry.count if entry else 0) + pending
        if count < free:
            return 0.0
        last = now if pending else entry.last if entry else now
        delay = min(self._max, FIRST_WAIT_S * 2.0 ** min(count - free, 30))
        return max(0.0, last + delay - now)

    def retry_after(self, username: str, address: str) -> float:
        """Seconds until this username may try again from this address (0: now)."""
        now = self._clock.time()
        with self._lock:
            self._expire(now)
            return max(self._wait(key, free, now) for key, free in self._keys(username, address))

    def begin(self, username: str, address: str) -> float:
        """Check and, when allowed (0 returned), hold one attempt's place until `end`: the
        check and the count are one step, so parallel guesses cannot all pass the check
        before any of them is counted. Otherwise the seconds to wait."""
        now = self._clock.time()
        keys = self._keys(username, address)
        with self._lock:
            self._expire(now)
            wait = max(self._wait(key, free, now) for key, free in keys)
            if wait <= 0:
                for key, _ in keys:
                    self._pending[key] = self._pending.get(key, 0) + 1
                # What `end` releases: the keys held now (a good password in between
                # makes the address the user's, and changes the keys).
                self._held.setdefault((username, address), []).append([k for k, _ in keys])
            return wait

    def end(self, username: str, address: str) -> None:
        """Release the place `begin` held (after `failed` or `succeeded`, or an error)."""
        with self._lock:
            held = self._held.get((username, address))
            if not held:
                return
            keys = held.pop()
            if not held:
                del self._held[(username, address)]
            for key in keys:
                left = self._pending.get(key, 0) - 1
                if left > 0:
                    self._pending[key] = left
                else:
                    self._pending.pop(key, None)

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
        """A good login clears that username's failures from that address, and the address
        is theirs: a spray from it no longer holds them back."""
        with self._lock:
            self._entries.pop((username, address), None)
            self._trusted.pop((username, address), None)
            self._trusted[(username, address)] = self._clock.time()
            while len(self._trusted) > self._max_entries:
                self._trusted.popitem(last=False)

    def _expire(self, now: float) -> None:
        while self._entries:
            key, entry = next(iter(self._entries.items()))
            if entry.last > now - self._forget:
                break
            del self._entries[key]
