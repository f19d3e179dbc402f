"""An alarm beside a flag, a log or a record: what mutes it, what does not (red team round 9,
vendor round 9)."""

from __future__ import annotations

import orjson
import pytest

from tests.gateway.test_salvage import DAY_MS, MS, _flagged

MIN_MS = 60_000


@pytest.mark.parametrize("payload", [
    {"event": "sos", "alarm": None}, {"event": "sos", "alert": None},
    {"event": "sos", "alarm": 0}, {"event": "sos", "alarm_flag": False},
    {"event_type": "sos", "alarm": None, "battery": 80},
    {"type": ["sos"], "alarm": 0}, {"type": ["sos"], "alarm": None},
    {"type": {"name": "sos"}, "warning": 0}, {"event": ["sos"], "alarm": 0},
    {"alarm_code": "sos", "warning": None}, {"alarm": "sos", "alarm_state": None},
    {"record": {"type": "sos"}}, {"eventRecord": {"type": "sos"}},
    {"alarmRecord": {"type": "sos"}}, {"lastEvent": {"type": "sos"}},
    {"catalog": {"type": "sos"}}, {"alarmList": [{"type": "sos"}]},
    {"data": {"type": "sos", "ts": MS - 3 * MIN_MS}},
])
@pytest.mark.parametrize("channel", ["event", "telemetry"])
def test_an_sos_decorated_by_firmware_is_not_muted(payload, channel):
    # Red team round 9: a flag beside the SOS that is null ("not set" in a serialised struct)
    # or off muted it when an `event`, an `event_type` or a `type` list named it; so did a
    # record of the alarm now under `record`, `alarmRecord`, `lastEvent` or `catalog`.
    assert _flagged("wristband", payload, channel) == "sos"


@pytest.mark.parametrize("payload", [
    {"data": {"type": "sos", "ended": 1}}, {"data": {"type": "sos", "restored": "true"}},
    {"payload": [{"type": "sos", "handled": 1}]},
])
def test_an_element_saying_it_is_over_is_the_alarm_on_the_event_channel_only(payload):
    assert _flagged("wristband", payload, "event") == "sos"
    assert _flagged("wristband", payload, "telemetry") is None


@pytest.mark.parametrize("log", [
    "报警记录", "历史报警", "事件记录", "alarm_hist", "alarmHis", "his_alarms", "recent_alarms",
    "past_events", "old_alarms", "journal", "SOSRecords", "last_alarms", "告警日志"])
def test_a_log_of_earlier_alarms_under_any_name_pages_nothing(log):
    # Red team round 9: `报警记录` (the example in round 8's own fix) and a dozen other names
    # of a log paged every old fire again at each heartbeat.
    payload = {"battery_pct": 90, log: [{"ts": MS - 3 * DAY_MS, "type": "smoke_alarm"}]}
    assert _flagged("smoke_detector", payload, "telemetry") is None
    assert _flagged("smoke_detector", payload) is None


@pytest.mark.parametrize("element", [
    {"is_cleared": True}, {"clear_ts": MS - MIN_MS}, {"status": "cleared"},
    {"state": "handled"}, {"已解除": True}, {"cleared": 2}, {"isRecovered": "yes"},
    {"ts": MS - 3 * DAY_MS}, {"time": "2026-11-18T09:00:00+08:00"},
])
def test_a_record_over_or_older_than_its_report_pages_nothing(element):
    payload = {"battery_pct": 90, "data": {"type": "smoke_alarm", **element}}
    assert _flagged("smoke_detector", payload, "telemetry") is None


@pytest.mark.parametrize("element", [
    {"ts": 0}, {"time": 946_684_800}, {"ts": 946_684_800_000}, {"time": 3},
    {"timestamp": "2000-01-01T00:00:00+08:00"}])
@pytest.mark.parametrize("channel", ["event", "telemetry"])
def test_an_alarm_from_a_clock_never_set_inside_an_envelope_pages(element, channel):
    # Red team round 10: an NB-IoT detector without network time reports 0 or 2000-01-01
    # inside the envelope its platform stamps now; its fire was dropped as an old record.
    payload = {"data": {"type": "smoke_alarm", **element}}
    assert _flagged("smoke_detector", payload, channel) == "smoke_alarm"
    assert _flagged("wristband", {"data": {"type": "sos", **element}}, channel) == "sos"


@pytest.mark.parametrize("report_ts", [MS * 1000, MS + 30 * 3_600_000, 0])
def test_a_report_time_no_clock_could_mean_is_not_what_elements_are_judged_by(report_ts):
    # A report in microseconds, a day ahead, or unset: its elements are judged by the time
    # of receipt, and a current alarm is no old record.
    from devices.catalogue import CATALOGUE
    from gateway.envelope import RawMessage
    from gateway.urgent_salvage import misplaced_urgent

    raw = RawMessage("scgw/v1/wristband/X-1/telemetry", orjson.dumps(
        {"ts": report_ts, "data": {"type": "sos", "ts": MS}}), received_at=MS / 1000)
    found = misplaced_urgent(CATALOGUE.get("wristband"), None, raw, "telemetry")
    assert found is not None and found.event.type == "sos"


@pytest.mark.parametrize("wrapper", ["records", "recordList", "dataList", "alarms"])
@pytest.mark.parametrize("channel", ["event", "telemetry"])
def test_the_contract_s_queue_wrappers_hold_alarms_now(wrapper, channel):
    # Red team round 10: a report with its `seq` and the contract's own `records` or
    # `recordList` around a current SOS was read as a log, and the SOS lost.
    payload = {"seq": 7, wrapper: [{"type": "sos", "ts": MS}]}
    assert _flagged("wristband", payload, channel) == "sos"


@pytest.mark.parametrize("name", ["recentAlarm", "eventLog", "logInfo", "oldData", "his"])
def test_one_alarm_dated_now_under_a_log_s_name_pages(name):
    # Red team round 10: one current SOS dated now, under a name with a log's word, was
    # dropped even on `…/event`; its own time says whether it is old.
    assert _flagged("wristband", {name: {"type": "sos", "ts": MS}}) == "sos"
    assert _flagged("wristband", {name: {"type": "sos", "ts": MS - 3 * DAY_MS}}) is None


@pytest.mark.parametrize("marker", [{"clear_time": ""}, {"clear_ts": ""}, {"cleared": "N"},
                                    {"cleared": "no"}])
def test_an_over_marker_a_serializer_left_unset_says_nothing(marker):
    # Red team round 10: `clear_time: ""` or `cleared: "N"` (a serializer's "not cleared")
    # dropped a current smoke alarm from a reading.
    payload = {"battery_pct": 90, "data": {"type": "smoke_alarm", **marker}}
    assert _flagged("smoke_detector", payload, "telemetry") == "smoke_alarm"


def test_an_alarm_older_than_a_day_in_an_event_pages_nothing():
    assert _flagged("smoke_detector", {"last_alarm": {"ts": MS - 2 * DAY_MS,
                                                      "type": "smoke_alarm"}}) is None
    assert _flagged("smoke_detector", {"alarm": {"ts": MS - 20 * MIN_MS,
                                                 "type": "smoke_alarm"}}) == "smoke_alarm"


@pytest.mark.parametrize("key", ["data", "payload", "APPdata", "value"])
def test_an_event_a_carrier_wrapped_pages_whatever_its_clock_says(key):
    # Red team round 11: an SOS in `data` dated 30 h back (an RTC set to the wrong day) was
    # dropped on `…/event`; the same SOS unwrapped pages (urgent events are never stale).
    assert _flagged("wristband", {key: {"type": "sos", "ts": MS - 30 * 3600_000}}) == "sos"


@pytest.mark.parametrize("said", [
    "自检", "测试", "防拆", "dismantle", "故障", "低电量", "sensor_fault", "self_check"])
@pytest.mark.parametrize("channel", ["event", "telemetry"])
def test_an_alarm_flag_naming_an_alarm_of_the_vendor_s_own_words_is_no_fire(said, channel):
    # Vendor round 9: a smoke detector's self-test, tamper, fault or low battery report with
    # `alarm: 1` paged a fire at a lone elder's home (critical, the family's siren).
    payload = {"alarm": 1, "alarm_type": said, "battery_pct": 80}
    assert _flagged("smoke_detector", payload, channel) is None


@pytest.mark.parametrize(("payload", "meant"), [
    ({"alarm": 1, "alarm_type": "smoke"}, "smoke_alarm"),
    ({"alarm": 1, "alarm_type": "烟雾报警"}, "smoke_alarm"),
    ({"alarm": 1, "alarm_type": 3}, "smoke_alarm"),  # a code nobody mapped: the flag pages
    ({"type": "heartbeat", "alarm": 1}, "smoke_alarm"),
])
def test_an_alarm_flag_naming_the_alarm_or_a_code_still_pages(payload, meant):
    assert _flagged("smoke_detector", payload, "telemetry") == meant


@pytest.mark.parametrize(("kind", "said", "meant"), [
    ("gas_detector", "可燃气体超标", "gas_alarm"), ("gas_detector", "CH4超标", "gas_alarm"),
    ("gas_detector", "浓度超限", "gas_alarm"), ("gas_detector", "LEL", "gas_alarm"),
    ("gas_detector", "high", "gas_alarm"), ("gas_detector", "level2", "gas_alarm"),
    ("smoke_detector", "烟雾浓度超标", "smoke_alarm"),
    ("smoke_detector", "烟感触发", "smoke_alarm"),
    ("smoke_detector", "high_smoke", "smoke_alarm"), ("smoke_detector", "E01", "smoke_alarm"),
    ("smoke_detector", "0x01", "smoke_alarm"), ("alarm_pole", "呼救", "button_pressed"),
    ("alarm_pole", "call_police", "button_pressed"), ("alarm_pole", "报警按钮", "button_pressed")])
@pytest.mark.parametrize("channel", ["event", "telemetry"])
def test_a_set_flag_naming_its_alarm_in_unknown_words_pages(kind, said, meant, channel):
    # Red team round 10: the vendor's own name for the alarm (the standard's 可燃气体超标)
    # vetoed the set flag — lost on both channels, while the flag alone paged. Only words
    # known to be no alarm (a self-test, a fault …) veto it.
    assert _flagged(kind, {"alarm": 1, "alarm_type": said}, channel) == meant


@pytest.mark.parametrize(("kind", "said"), [
    ("gas_detector", "gas_abnormal"), ("gas_detector", "abnormal"),
    ("gas_detector", "浓度不正常"), ("gas_detector", "可燃气体浓度不正常"),
    ("gas_detector", "concentration_abnormal"), ("gas_detector", "CH4_abnormal"),
    ("gas_detector", "default"), ("gas_detector", "latest"), ("gas_detector", "leakage"),
    ("smoke_detector", "smokeAbnormal"), ("smoke_detector", "烟雾浓度异常"),
    ("smoke_detector", "未恢复"), ("smoke_detector", "低电平报警"),
    ("smoke_detector", "not_normal")])
@pytest.mark.parametrize("channel", ["event", "telemetry"])
def test_a_calm_word_inside_the_alarm_s_own_word_does_not_veto_it(kind, said, channel):
    # Red team round 11: `normal` inside `abnormal`, `正常` inside `不正常`, `fault` inside
    # `default`, `test` inside `latest` read as "no alarm": the set flag was lost.
    meant = {"gas_detector": "gas_alarm", "smoke_detector": "smoke_alarm"}[kind]
    assert _flagged(kind, {"alarm": 1, "alarm_type": said}, channel) == meant


@pytest.mark.parametrize("said", ["SELF_TEST", "selfTest", "lowBattery", "恢复正常", "heartbeat",
                                  "restored", "Testing", "故障报警"])
def test_calm_words_in_other_spellings_still_veto(said):
    assert _flagged("smoke_detector", {"alarm": 1, "alarm_type": said}, "telemetry") is None


def test_a_decorated_sos_flag_after_many_other_flags_pages():
    # Red team round 9: 70 made-up flags set before `sos_call_alarm` spent the message's word
    # searches; the SOS was never looked at.
    payload: dict[str, object] = {f"flag_{i}_x": 1 for i in range(70)}
    payload["sos_call_alarm"] = 1
    assert _flagged("wristband", payload, "telemetry") == "sos"
