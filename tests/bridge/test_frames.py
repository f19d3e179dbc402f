"""The 3G watch protocol: framing, bad input, and the translation into our v1 contract."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.vendors import watch3g

UD = ("UD,211126,040000,A,35.415200,N,116.587100,E,0.0,0.0,45,8,70,64,1200,0,00000000,"
      "1,0,460,0,9360,4082,131")


def test_frames_round_trip_and_arrive_in_pieces():
    data = watch3g.encode("SG", "8800000015", "LK,50,0,90") + b"\r\n" + watch3g.encode(
        "3G", "8800000015", UD)
    reader = watch3g.FrameReader(4096)
    frames = []
    for i in range(0, len(data), 7):  # TCP may cut anywhere
        frames += reader.feed(data[i:i + 7])
    assert [(f.maker, f.keyword) for f in frames] == [("SG", "LK"), ("3G", "UD")]
    assert frames[0].values == ("50", "0", "90")


@pytest.mark.parametrize(("data", "reason"), [
    (b"GET / HTTP/1.1\r\n", "junk"),
    (b"[SG*88*0004*LK][SG*88*0002*LK]", "bad_length"),  # says 4, carries 2
    (b"[SG*88*0002*LKXX]", "bad_length"),
    (b"[SG*88*FFFF*" + b"x" * 100, "too_long"),
    (b"[SG*bad id*0002*LK]", "junk"),
    (b"[" + b"A" * 200, "junk"),
])
def test_bad_input_is_named(data, reason):
    with pytest.raises(watch3g.FrameError) as info:
        watch3g.FrameReader(8192).feed(data)
    assert info.value.reason == reason


@given(st.binary(max_size=400))
def test_arbitrary_bytes_are_frames_or_a_frame_error(data):
    try:
        watch3g.FrameReader(8192).feed(data)
    except watch3g.FrameError as exc:
        assert exc.reason in ("junk", "bad_length", "too_long")


def test_positions_and_alarms_become_our_messages():
    frame = watch3g.Frame("SG", "W1", "UD", tuple(UD.split(",")[1:]))
    [(channel, body)] = watch3g.to_contract(frame, 0)
    assert channel == "telemetry" and body["ts"] == 1795233600000
    assert body["location"] == {"lat": 35.4152, "lon": 116.5871, "accuracy_m": 10.0,
                                "source": "gps"}
    assert (body["battery_pct"], body["steps"]) == (64, 1200)
    status = f"{(1 << 16) | (1 << 21) | 1:08X}"
    al = tuple(UD.replace("00000000", status).split(",")[1:])
    out = watch3g.to_contract(watch3g.Frame("SG", "W1", "AL", al), 0)
    assert [b.get("type") for c, b in out if c == "event"] == ["sos", "fall", "low_battery"]
    assert watch3g.to_contract(watch3g.Frame("SG", "W1", "bphrt", ("128", "82", "70")), 5) == [
        ("telemetry", {"ts": 5, "systolic_mmhg": 128, "diastolic_mmhg": 82,
                       "heart_rate_bpm": 70})]
    assert watch3g.to_contract(watch3g.Frame("SG", "W1", "LK", ()), 5) == []
