"""The message catalogue: every key in both languages with the same fields; keys used in code exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from planner.i18n import LANGUAGES, catalogue, fields, get_language, join_names, set_language, t

ROOT = Path(__file__).resolve().parents[1]


def test_every_key_has_both_languages_and_same_fields() -> None:
    cat = catalogue()
    assert len(cat) > 50
    for key, entry in cat.items():
        assert set(entry) >= set(LANGUAGES), key
        assert entry["zh"].strip() and entry["en"].strip(), key
        assert fields(entry["zh"]) == fields(entry["en"]), key


def test_keys_used_in_code_exist() -> None:
    cat = catalogue()
    pattern = re.compile(
        r"""(?:\bt|Error|InputError|NetworkError|ConfigError|SitingError|SolverError)\(\s*["']([a-z_]+\.[a-z0-9_.]+)["']"""
    )
    missing = []
    for path in [*sorted((ROOT / "planner").rglob("*.py")), ROOT / "app.py"]:
        if not path.exists():
            continue
        for m in pattern.finditer(path.read_text(encoding="utf-8")):
            if m.group(1) not in cat:
                missing.append(f"{path.name}: {m.group(1)}")
    assert not missing, missing


def test_switch_language() -> None:
    assert get_language() == "zh"
    assert t("tier.village") == "村（社区）"
    set_language("en")
    try:
        assert t("tier.village") == "village / community"
    finally:
        set_language("zh")
    with pytest.raises(ValueError, match="unknown language"):
        set_language("fr")


def test_join_names_follows_the_language() -> None:
    assert join_names(["甲", "乙", 3]) == "甲、乙、3"
    set_language("en")
    try:
        assert join_names(x for x in ("a", "b")) == "a, b"
    finally:
        set_language("zh")
    assert join_names([]) == ""


def test_language_is_per_thread_once_set() -> None:
    # two sessions' script runs (threads) overlapping: each keeps its own language;
    # a thread that has set none follows the process default
    import threading

    seen: dict[str, str] = {}
    english_set, chinese_set = threading.Event(), threading.Event()

    def english() -> None:
        set_language("en")
        english_set.set()
        chinese_set.wait(5)
        seen["en_thread"] = t("tier.village")

    def chinese() -> None:
        english_set.wait(5)
        set_language("zh")
        chinese_set.set()
        seen["zh_thread"] = t("tier.village")

    def fresh() -> None:
        seen["fresh_thread"] = get_language()

    try:
        threads = [threading.Thread(target=english), threading.Thread(target=chinese)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(10)
        late = threading.Thread(target=fresh)
        late.start()
        late.join(10)
        assert seen == {"en_thread": "village / community", "zh_thread": "村（社区）", "fresh_thread": "zh"}
    finally:
        set_language("zh")
