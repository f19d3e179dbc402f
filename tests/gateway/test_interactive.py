"""The ingest steps aside for requests in flight, within its share, never for a request that
waits on the pipeline itself, and never for a live stream."""

from __future__ import annotations

import asyncio
import threading

from api.interactive import InteractiveRequests
from gateway.interactive import InteractiveGate


def test_the_ingest_waits_while_a_request_runs_and_resumes_when_it_ends() -> None:
    gate = InteractiveGate(share=0.9, window_s=60.0, step_s=30.0)
    gate.enter()
    returned = threading.Event()

    def ingest() -> None:
        gate.step_aside()
        returned.set()

    worker = threading.Thread(target=ingest)
    worker.start()
    assert not returned.wait(0.05)  # still stepping aside: the request is running
    gate.leave()
    assert returned.wait(5)  # resumed at once, not after its 30 s step
    worker.join(5)
    assert gate.yielded_total_s < 5


def test_the_ingest_never_gives_more_than_its_share() -> None:
    gate = InteractiveGate(share=0.5, window_s=0.1, step_s=0.01)
    gate.enter()  # a request that never ends (a stuck client, an API flood)
    for _ in range(200):
        gate.step_aside()
    # 200 steps of 10 ms would be 2 s; half of a 100 ms window is ~50 ms, then the ingest
    # runs the rest of the window without stepping aside, whatever the requests do.
    assert 0.04 <= gate.yielded_total_s <= 0.12
    gate.leave()


def test_a_request_waiting_on_the_pipeline_is_not_waited_for() -> None:
    gate = InteractiveGate(share=0.9, window_s=60.0, step_s=30.0)
    gate.enter()
    gate.pipeline_call(True)  # the request's handler called pipeline.call and waits on us
    gate.step_aside()  # returns at once: waiting here would only delay that request
    assert gate.yielded_total_s < 1
    gate.pipeline_call(False)
    gate.leave()


def _run(headers: list[tuple[bytes, bytes]], chunks: list[bytes], gate: InteractiveGate
         ) -> list[int]:
    """Drive the middleware as a server would; the gate's in-flight count after each send."""
    seen: list[int] = []

    async def inner(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for i, chunk in enumerate(chunks):
            await send({"type": "http.response.body", "body": chunk,
                        "more_body": i < len(chunks) - 1})

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message) -> None:
        seen.append(gate._inflight)

    asyncio.run(InteractiveRequests(inner, gate)({"type": "http"}, receive, send))
    seen.append(gate._inflight)
    return seen


def test_a_page_counts_until_its_last_byte_and_a_live_stream_not_at_all() -> None:
    gate = InteractiveGate()
    page = _run([(b"content-type", b"application/json")], [b"[", b"]"], gate)
    assert page == [1, 1, 1, 0]  # in flight while headers and body go out, then done
    stream = _run([(b"content-type", b"text/event-stream")], [b"data: 1\n\n", b""], gate)
    assert stream == [1, 0, 0, 0]  # stops counting once a stream's headers are out
