"""Messages over the size limit refused on arrival, before the inbox: queued whole, a fleet's
320-KiB readings held ~1 GB until the writer reached them to refuse them (red team round 11).
One that may be an urgent event, or an event of a device in service, is still queued, to be
trimmed and read (gateway/decode.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from gateway.dead_letters import DeadLetters
from gateway.decode import Decoder
from gateway.envelope import RawMessage
from gateway.pipeline_hook import Task
from gateway.storage.tx import StoreTx


def split_oversized(raws: list[RawMessage], max_bytes: int, decoder: Decoder
                    ) -> tuple[list[RawMessage], list[RawMessage]]:
    """(the messages to queue, the oversized ones to refuse now)."""
    big = [raw for raw in raws if len(raw.payload) > max_bytes
           and not _may_be_urgent_when_trimmed(raw, decoder)]
    if not big:
        return raws, []
    refused = {id(raw) for raw in big}
    return [raw for raw in raws if id(raw) not in refused], big


def refusal_task(big: list[RawMessage], decoder: Decoder, dead: DeadLetters, keep_bytes: int,
                 now: float, settled: Callable[[BaseException | None], None]) -> Task:
    """The job writing their dead letters: only their first bytes are held from here on."""
    letters = [(replace(raw, payload=raw.payload[:max(keep_bytes, 1)]),
                decoder.oversized(raw, len(raw.payload)), len(raw.payload)) for raw in big]

    def write(now: float, tx: StoreTx) -> None:
        for first_bytes, rejection, size in letters:
            dead.write(tx, first_bytes, rejection, size=size)

    return Task("oversized", write, now, settled=settled)


def _may_be_urgent_when_trimmed(raw: RawMessage, decoder: Decoder) -> bool:
    """Worth queueing to trim: the quick pattern takes it for an urgent event, it is an event
    of a device in service, or a device in service's text beyond ASCII that may name an
    urgent one (`ＳＯＳ`) — not an ASCII payload that merely holds a base64-looking run, as
    any junk padding does."""
    if decoder.urgency.device(raw) is not None or decoder.oversized_event_in_service(raw):
        return True
    # Only a device in service's: one byte beyond ASCII in the padding had a vendor's
    # uninstalled fleet park 350 MB in the inbox again (red team round 12).
    return (not raw.payload.isascii() and decoder.in_service(raw)
            and decoder.oversized_may_be_urgent(raw))
