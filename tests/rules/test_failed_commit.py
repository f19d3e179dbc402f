"""A rule's state after a failed commit is the stored one: the retried message counts once."""

from __future__ import annotations

import pytest

from gateway.storage.migrate import StoreError
from tests.gateway.test_failed_commit_state import _FailFirstCommit
from tests.rules.conftest import Rig


def test_a_denial_retried_after_a_failed_commit_counts_once(rig: Rig):
    # The rule wants three denials within 60 s; the first one's commit fails and is retried.
    failing = _FailFirstCommit()
    rig.gw.pipeline.hooks.append(failing)
    rig.event("AC-2001", "denied", method="face")
    assert failing.failed == 1
    rig.advance(20)
    rig.event("AC-2001", "denied", method="face")
    assert rig.alerts("test.denied_burst") == [], "two denials counted as three"
    rig.advance(20)
    rig.event("AC-2001", "denied", method="card")
    assert rig.open("test.denied_burst", "AC-2001")["count"] == 1


def test_a_rule_switched_off_in_a_failed_transaction_stays_on(rig: Rig):
    failed = []

    def fail_once(tx) -> None:  # the switch's commit fails (disk full, connection lost)
        if not failed:
            failed.append(True)
            raise StoreError("injected: the commit failed")

    rig.gw.pipeline.before_commit.append(fail_once)
    with pytest.raises(StoreError):
        rig.alerting.switch_rule("locker.tamper", False, "op-zhang", "maintenance")
    rig.gw.pipeline.before_commit.remove(fail_once)
    rig.event("LK-4001", "tamper")
    assert rig.open("locker.tamper", "LK-4001") is not None, "a failed switch-off took effect"
