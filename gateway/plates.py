"""Digital door plates (数字门牌码): signed per-plate links and rotation.

A plate's link is `<public_url>/r/<code>.<version>.<mac>`, where the MAC is an HMAC-SHA256
(with `plates.token_key`) over the code, the version and the plate's own random secret.
Changing the code in a link breaks the MAC, so a plate cannot be used to reach another unit;
rotating a plate gives it a new secret and version, so its old printed link stops working
and no other plate is touched. Neither the database (per-plate secrets) nor the key alone
is enough to forge a link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from urllib.parse import quote

from gateway.settings import DEV_PLATE_KEY, Settings
from gateway.storage.base import Reader
from gateway.storage.plates_repo import PlateReads, PlateRow

log = logging.getLogger(__name__)

MAC_BYTES = 16  # 128 bits: 22 characters in the link
MAX_TOKEN_CHARS = 200


class PlatesNotConfiguredError(RuntimeError):
    """Production without `plates.token_key`: plates cannot be signed or checked."""


class PlateTokenError(ValueError):
    """A link that is malformed, forged, or of a plate version that was rotated away."""


@dataclass(frozen=True, slots=True)
class PlateLink:
    """A verified link: the plate it opens and the version it was printed with."""

    plate: PlateRow
    version: int


def plate_key(settings: Settings) -> bytes:
    """The signing key; in production it must be configured (fail clearly, not weakly)."""
    key = settings.plates.token_key
    if key is not None:
        return key.get_secret_value().encode()
    if settings.environment == "production":
        raise PlatesNotConfiguredError(
            "door plates are off: set SCGW_PLATES__TOKEN_KEY (at least 16 characters)")
    return DEV_PLATE_KEY.encode()


def new_secret() -> str:
    """A fresh per-plate secret."""
    return secrets.token_urlsafe(24)


def label(plate: PlateRow) -> str:
    """The unit in the residents' words: 3号楼1单元501室."""
    parts = []
    if plate.building:
        parts.append(f"{plate.building}号楼")
    if plate.unit:
        parts.append(f"{plate.unit}单元")
    if plate.room:
        parts.append(f"{plate.room}室")
    return "".join(parts) or plate.code


def label_en(plate: PlateRow) -> str:
    """The same in English: Building 3, Unit 1, Room 501."""
    parts = [f"{name} {value}" for name, value in (("Building", plate.building),
                                                    ("Unit", plate.unit), ("Room", plate.room))
             if value]
    return ", ".join(parts) or plate.code


class PlateTokens:
    """Signs and checks plate links."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def mac(self, code: str, version: int, secret: str) -> str:
        """The link's MAC for a plate version."""
        digest = hmac.new(self._key, f"scgw-plate\x1f{code}\x1f{version}\x1f{secret}".encode(),
                          hashlib.sha256).digest()[:MAC_BYTES]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def token(self, code: str, version: int, secret: str) -> str:
        """`<code>.<version>.<mac>` (the code percent-encoded when it needs to be)."""
        return f"{quote(code, safe='-_~')}.{version}.{self.mac(code, version, secret)}"

    @staticmethod
    def parse(token: str) -> tuple[str, int, str]:
        """(code, version, mac) of a link's token, or PlateTokenError."""
        from urllib.parse import unquote

        if not token or len(token) > MAX_TOKEN_CHARS:
            raise PlateTokenError("malformed plate link")
        code, _, rest = token.rpartition(".")
        code, _, version = code.rpartition(".")
        if not code or not (version.isascii() and version.isdigit()) or not rest:
            raise PlateTokenError("malformed plate link")
        return unquote(code), int(version), rest

    def verify(self, token: str, store: Reader) -> PlateLink:
        """The plate a link opens, if its MAC matches the plate's current version."""
        code, version, mac = self.parse(token)
        plate = PlateReads(store).plate(code)
        if plate is None or plate.secret is None or plate.version is None:
            raise PlateTokenError("unknown plate")
        expected = self.mac(code, plate.version, plate.secret)
        # Compared in constant time, and against the current version only: a rotated link fails.
        if not hmac.compare_digest(expected, mac) or version != plate.version:
            raise PlateTokenError("plate link is not (or no longer) valid")
        return PlateLink(plate, version)


def public_url(settings: Settings) -> str:
    """The address printed in the QR codes (no trailing slash)."""
    if settings.plates.public_url:
        return settings.plates.public_url.rstrip("/")
    if settings.environment == "production":
        raise PlatesNotConfiguredError(
            "set plates.public_url (SCGW_PLATES__PUBLIC_URL): the address residents' phones "
            "reach the gateway at, printed in every QR code")
    return f"http://{settings.api.host}:{settings.api.port}"


def link(settings: Settings, tokens: PlateTokens, code: str, version: int, secret: str) -> str:
    """The full URL printed in a plate's QR code."""
    return f"{public_url(settings)}/r/{tokens.token(code, version, secret)}"


def tracking_secret() -> tuple[str, str]:
    """(tracking token for the resident's link, its hash to store)."""
    token = secrets.token_urlsafe(18)
    return token, track_hash(token)


def track_hash(token: str) -> str:
    """What is stored of a tracking token (a leaked database does not give the links)."""
    return hashlib.sha256(f"scgw-track\x1f{token}".encode()).hexdigest()
