"""Settings of message processing: limits, rules, vendor dialects."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from gateway.settings.base import Section


class LimitSettings(Section):
    """Per-message limits and the ingest queue."""

    max_payload_bytes: int = Field(
        64 * 1024, ge=256, le=16 * 1024 * 1024, description="Larger payloads are dead-lettered"
    )
    future_skew_s: int = Field(
        300, ge=0, description="A device timestamp further ahead of our clock is refused"
    )
    stale_after_s: int = Field(
        86_400, ge=1, description="Readings older than this are stored but flagged stale"
    )
    clock_skew_alert_s: float = Field(
        300.0, gt=0,
        description="A device whose clock is off by more than this gets one `device.clock_skew` "
        "maintenance alert until it is right again (fast: at once; slow: when nothing it sent "
        "for 10 minutes was on time, or at once from a late urgent event or status of a device "
        "talking without a break since before the time it claims)",
    )
    queue_size: int = Field(
        5000, ge=10, description="Messages held between the MQTT thread and the pipeline"
    )
    device_rate_per_s: float = Field(
        20.0, ge=0,
        description="Sustained messages per second one device may send once its burst is "
        "spent; the excess is shed (acknowledged, counted, one `rate_limited` dead letter per "
        "device and second). 0: no limit",
    )
    device_burst: int = Field(
        10_000, ge=1,
        description="Messages one device may send at once before its rate applies (a backlog "
        "after an outage, a buffered day of readings)",
    )
    uninstalled_device_burst: int = Field(
        200, ge=1,
        description="The burst of a device nobody installed (no place, no resident) or not "
        "registered: a vendor's warehouse or a test bench needs little, and a hostile "
        "vendor's fleet within the full budget could queue millions of messages ahead of an "
        "installed band's SOS. Its urgent events keep their own budget",
    )
    uninstalled_device_rate_per_s: float = Field(
        2.0, ge=0, description="The sustained rate of such a device once its burst is spent",
    )
    device_urgent_rate_per_s: float = Field(
        1.0, ge=0,
        description="Urgent events (SOS, fall …) per second a device over its budget may still "
        "send: its own budget, so a chatty device's emergency is not shed with its readings",
    )
    device_urgent_burst: int = Field(
        30, ge=1, description="Urgent events a device over its budget may send at once",
    )
    batch_size: int = Field(
        2000, ge=1, le=10_000,
        description="Most messages per database transaction (a backlog drains in batches this big)",
    )
    gc_threshold: int = Field(
        50_000, ge=0, le=10_000_000,
        description="Allocations between runs of Python's youngest garbage-collector "
        "generation (CPython's default is 700); 0 leaves the collector as it is. With a value "
        "set, the state loaded at start-up is also frozen out of collection",
    )
    vendor_uninstalled_devices: int = Field(
        2000, ge=0,
        description="Devices one vendor may have registered and not yet installed (no place, "
        "no resident); beyond, its new registrations are refused (429) until some are "
        "installed. Each can page the control room, so a hostile vendor cannot fill it from "
        "its warehouse. Staff are not held to it (what they register for a vendor counts); "
        "0: no limit",
    )
    dead_letter_payload_bytes: int = Field(
        4096, ge=0, description="How much of a rejected payload is kept"
    )
    dead_letter_payloads_per_hour: int = Field(
        100, ge=0, description="Refused messages of one device an hour whose payload is kept, "
        "for its events and for its other messages, and for each refusal reason; past that, "
        "each dead letter keeps its reason, detail and size but not the payload (a refused "
        "flood filled the disk at 4 KiB a message). 0: every payload is kept",
    )
    dead_letter_rows_per_hour: int = Field(
        100, ge=0, description="Refused messages of one device an hour (events and other "
        "messages each) that get a dead-letter row of their own; past that, its refusals "
        "of one reason are summed up in one row a minute (count, first and last time, the "
        "first one's detail and payload): a device refused at its full budget wrote a row "
        "per message, 11.6 GB a day for 300 bands. 0: a row for every refusal",
    )


class RuleSettings(Section):
    """The rules engine and the alert lifecycle."""

    enabled: bool = Field(True, description="Run the rules engine at all")
    pack: bool = Field(True, description="Load the built-in rule pack (rules/packs)")
    extra_dir: Path | None = Field(
        None, description="Folder of the operator's own rule files (*.yaml), loaded after the pack"
    )
    tick_s: float = Field(
        5.0, gt=0, le=300, description="How often timers (absence, duration, ack timeouts) run"
    )
    ack_timeout_s: float = Field(
        1800.0, ge=0, description="An acknowledged alert not cleared by then re-escalates; 0: never"
    )
    flap_threshold: int = Field(
        3, ge=0, description="Openings within flap_window_s after which an alert stays open; 0: off"
    )
    flap_window_s: float = Field(1800.0, gt=0, description="Window of the flap count, seconds")
    flap_quiet_s: float = Field(
        600.0, gt=0, description="A flapping alert clears after this long without firing"
    )
    stale_event_limit_s: float = Field(
        600.0, gt=0, description="Messages older than this (device time) open alerts muted"
    )
    outage_min_devices: int = Field(
        3, ge=1, description="Silent devices in one building before it counts as an outage"
    )
    outage_fraction: float = Field(
        0.6, ge=0, le=1, description="Share of a building's devices silent for an outage; 0: off"
    )


class DialectSettings(Section):
    """Vendor dialect files: payload formats described as data (docs/vendor-guide.md)."""

    folder: Path | None = Field(
        None,
        description="Folder of extra dialect files (*.yaml) loaded beside the built-in ones; "
        "read at start-up (after adding a dialect with vendor topics, run `scgw broker "
        "provision` again so the gateway account may read them)",
    )
