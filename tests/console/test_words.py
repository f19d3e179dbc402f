"""The console's words: Chinese and English have the same keys, and every literal key the
pages ask for exists (a missing one would show as its key)."""

from __future__ import annotations

import re
from pathlib import Path

from api.routes.console import ASSETS

PAIR = re.compile(r'"([a-z0-9_.]+)":\s*"')


def _keys(name: str) -> set[str]:
    return set(PAIR.findall((Path(ASSETS) / name).read_text(encoding="utf-8")))


def test_both_languages_have_the_same_words():
    zh, en = _keys("lang-zh.js"), _keys("lang-en.js")
    assert zh and zh == en, {"only zh": sorted(zh - en), "only en": sorted(en - zh)}


def test_every_word_a_page_asks_for_exists():
    known = _keys("lang-zh.js")
    asked = set()
    for path in Path(ASSETS).iterdir():
        if path.suffix in (".js", ".html") and not path.name.startswith("lang-"):
            text = path.read_text(encoding="utf-8")
            asked |= set(re.findall(r'\bt\("([a-z0-9_.]+)"', text))
            asked |= set(re.findall(r'data-i18n(?:-placeholder|-title)?="([a-z0-9_.]+)"', text))
    assert asked - known == set()
