"""Vendor codecs: modules that translate a vendor's own payloads into our typed models."""

from __future__ import annotations

from devices.codec import Codec, JsonCodec
from devices.errors import UnknownCodecError
from devices.vendors import hx_band

# The one list of codecs; a device's `codec` field names one of these.
_DECLARED: tuple[Codec, ...] = (JsonCodec(), hx_band.HxBandCodec())
CODECS: dict[str, Codec] = {codec.name: codec for codec in _DECLARED}


def get_codec(name: str) -> Codec:
    """The codec registered under `name`."""
    try:
        return CODECS[name]
    except KeyError as exc:
        raise UnknownCodecError(f"no codec named {name!r}; known: {sorted(CODECS)}") from exc
