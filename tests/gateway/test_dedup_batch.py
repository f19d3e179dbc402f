"""The batched dedup claim: same verdicts as claiming one key at a time."""

from __future__ import annotations

from pathlib import Path

from gateway.storage.sqlite import SqliteStore


def test_claim_many_matches_one_at_a_time(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "a.db")
    with store.transaction() as tx:
        assert tx.claim("D-1", "t:5", 1.0)
    # 300 pairs cross the statement sizes (256 + 16 + 16 + 4 + 4 + 4); some repeat, one is old.
    keys = [(f"D-{i % 7}", f"t:{i // 2}") for i in range(300)] + [("D-1", "t:5")]
    with store.transaction() as tx:
        fresh = tx.claim_many(keys, 2.0)
    reference = SqliteStore(tmp_path / "b.db")
    expected = set()
    with reference.transaction() as tx:
        tx.claim("D-1", "t:5", 1.0)
        for device_id, key in keys:
            if tx.claim(device_id, key, 2.0):
                expected.add((device_id, key))
    assert fresh == expected
    assert ("D-1", "t:5") not in fresh
    with store.transaction() as tx:
        assert tx.claim_many(keys, 3.0) == set()  # everything is a duplicate now
    assert store.query("SELECT count(*) AS n FROM dedup")[0]["n"] == len(set(keys))
    store.close()
    reference.close()
