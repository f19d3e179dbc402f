"""The JSON log lines: an extra field never hides the record's own level, time or message."""

from __future__ import annotations

import logging

import orjson

from gateway.logs import JsonFormatter


def test_an_extra_field_named_like_a_record_field_does_not_overwrite_it():
    record = logging.makeLogRecord({
        "name": "gateway.workflow.service", "levelno": logging.WARNING,
        "levelname": "WARNING", "msg": "ticket SLA breached",
        "level": "community_lead", "logger": "x", "ticket": "GD-1"})
    line = orjson.loads(JsonFormatter().format(record))
    assert (line["level"], line["logger"], line["msg"]) == (
        "WARNING", "gateway.workflow.service", "ticket SLA breached")
    assert (line["level_"], line["logger_"], line["ticket"]) == ("community_lead", "x", "GD-1")
