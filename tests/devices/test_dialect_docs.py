"""The guide's dialect chapter: the reference is the generated one, the worked example works."""

from __future__ import annotations

import re
from pathlib import Path

from devices.dialects.examples import run_examples
from devices.dialects.loader import parse
from devices.dialects.reference import render
from gateway.rejections import REJECT_REASONS

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "vendor-guide.md"


def test_the_reference_in_the_guide_is_generated_from_the_model():
    text = GUIDE.read_text(encoding="utf-8")
    found = re.search(r"<!-- dialect-reference:start -->\n(.*?)<!-- dialect-reference:end -->",
                      text, re.S)
    assert found, "the guide lost its dialect reference markers"
    assert found.group(1) == render(), "run `scgw dialects reference` and paste it in"


def test_the_worked_example_loads_and_passes_its_examples():
    text = GUIDE.read_text(encoding="utf-8")
    found = re.search(r"<!-- dialect-example: (\w+) -->\n```yaml\n(.*?)```", text, re.S)
    assert found
    codec = parse(found.group(2), "vendor-guide.md")
    assert codec.name == found.group(1)
    results = run_examples(codec)
    assert results and all(problem is None for _, problem in results), results


def test_the_chapter_names_only_real_dead_letter_reasons():
    chapter = GUIDE.read_text(encoding="utf-8").split("# Bring your own format", 1)[1]
    named = set(re.findall(r"`([a-z_]+)`", chapter))
    reasons_like = {n for n in named if n in REJECT_REASONS or n.endswith(("_json", "_topic"))}
    assert reasons_like <= set(REJECT_REASONS)
