"""Operational series a control room runs on, and the dashboard and alerting rules over them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

# Runs on SQLite and on PostgreSQL (docs/storage.md: which tests run on both).
pytestmark = pytest.mark.both_backends

DOCS = Path(__file__).resolve().parents[2] / "docs"
_SUFFIXES = ("_total", "_bucket", "_sum", "_count", "_created")
# PromQL words that look like metric names but are not.
_WORDS = {"sum", "by", "rate", "increase", "histogram_quantile", "le", "and", "or", "offset",
          "up", "on", "max", "min", "avg", "count", "without", "unless", "bool", "d", "h", "m",
          "s", "job", "outcome", "action", "severity", "kind", "site", "state", "clock",
          "reason", "vendor", "instance"}


def _exposed(api) -> set[str]:
    text = api.client.get("/metrics").text
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        if family.type == "counter":  # a counter family with no sample yet
            names.add(f"{family.name}_total")
        names.update(sample.name for sample in family.samples)
    return names


def _metric_names(expr: str) -> set[str]:
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
    expr = re.sub(r'"[^"]*"', "", expr)
    return {w for w in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr)
            if w not in _WORDS and not w.isdigit()}


def _sample(api, name: str, **labels: str) -> float:
    """The sum of the samples matching the labels given (0 when none)."""
    total = 0.0
    for family in text_string_to_metric_families(api.client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def test_the_control_room_series_count_what_happened(api):
    # The fixture's SOS opened a critical alert and an urgent ticket.
    assert _sample(api, "scgw_alerts_open", severity="critical", kind="wristband") == 1
    assert _sample(api, "scgw_alert_transitions_total", action="opened") >= 1
    assert _sample(api, "scgw_tickets", priority="urgent") == 1
    assert _sample(api, "scgw_devices_active", kind="wristband", site="jining-renmin") == 2
    ratio = _sample(api, "scgw_devices_online_ratio", kind="wristband", site="jining-renmin")
    assert ratio == 0.5  # WB-1001 talked; WB-1002 did not
    assert _sample(api, "scgw_live_clients") == 0
    op = api.headers("operator")
    api.client.post(f"/alerts/{api.sos_alert_id}/ack", json={"note": "on it"}, headers=op)
    assert _sample(api, "scgw_alert_transitions_total", action="acknowledged") == 1


def test_every_dashboard_panel_and_alert_rule_reads_series_the_gateway_exposes(api):
    exposed = _exposed(api) | {"up"}
    dashboard = json.loads((DOCS / "grafana-prometheus-dashboard.json").read_text())
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            missing = {n for n in _metric_names(target["expr"])
                       if n not in exposed and not any(n.endswith(s) and n[:-len(s)] in
                                                       exposed for s in _SUFFIXES)}
            assert not missing, (panel["title"], missing)
    rules = yaml.safe_load((DOCS / "prometheus-rules.yaml").read_text())
    names = []
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert {"alert", "expr", "labels", "annotations"} <= set(rule), rule
            assert rule["labels"]["severity"] in ("critical", "major", "minor")
            missing = _metric_names(rule["expr"]) - exposed
            assert not missing, (rule["alert"], missing)
            names.append(rule["alert"])
    assert {"ScgwGatewayDown", "ScgwIngestStalled", "ScgwDeadLetterSurge",
            "ScgwSlaBreachesRising"} <= set(names)
