"""Summarise py-spy collapsed stacks (`-f raw`): top functions by self and by total samples.

    .venv/bin/python bench/profile_top.py profile.raw [--top 25] [--thread scgw-pipeline]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def frame_name(frame: str) -> str:
    """`func (path/to/file.py:12)` → `func (file.py)`, so lines of one function add up."""
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m.group("file")
    short = "/".join(path.split("/")[-2:])
    return f"{m.group('func')} ({short})"


def summarise(path: Path, top: int, thread: str | None) -> dict[str, object]:
    """Self and inclusive sample counts per function."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if thread and not any(thread in f for f in frames[:2]):
            continue
        n = int(count)
        samples += n
        names = [frame_name(f) for f in frames]
        own[names[-1]] += n
        for name in set(names):
            total[name] += n
    def pct(c: Counter[str]) -> list[tuple[str, float]]:
        return [(k, round(100 * v / samples, 1)) for k, v in c.most_common(top)]

    return {"samples": samples, "self_pct": pct(own), "total_pct": pct(total)}


def main() -> int:
    """Print both tables, then JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("raw", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--thread", default=None, help="only stacks of this thread name")
    args = parser.parse_args()
    result = summarise(args.raw, args.top, args.thread)
    for title in ("self_pct", "total_pct"):
        print(f"-- {title} of {result['samples']} samples")
        for name, p in result[title]:  # type: ignore[union-attr]
            print(f"{p:6.1f}%  {name}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
