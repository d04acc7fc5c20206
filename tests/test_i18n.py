"""The message catalogue: every key in both languages with the same fields; keys used in code exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from planner.i18n import (
    LANGUAGES,
    PLURAL_FORMS,
    catalogue,
    fields,
    get_language,
    join_names,
    plural_form,
    set_language,
    t,
)

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
        r"""(?:\bt|\btm|Error|InputError|NetworkError|ConfigError|SitingError|SolverError)\(\s*["']([a-z_]+\.[a-z0-9_.]+)["']"""
    )
    missing = []
    for path in [*sorted((ROOT / "planner").rglob("*.py")), ROOT / "app.py"]:
        if not path.exists():
            continue
        for m in pattern.finditer(path.read_text(encoding="utf-8")):
            if m.group(1) not in cat and f"{m.group(1)}.other" not in cat:
                missing.append(f"{path.name}: {m.group(1)}")
    assert not missing, missing


def plural_keys() -> set[str]:
    """Keys with plural variants (``KEY.one`` / ``KEY.other``), without the variant."""
    return {key.rsplit(".", 1)[0] for key in catalogue() if key.rsplit(".", 1)[-1] in PLURAL_FORMS}


def test_plural_keys_have_every_variant_with_the_same_fields_and_a_count() -> None:
    cat = catalogue()
    keys = plural_keys()
    assert {"count.station", "app.figures.stations", "inputs.problems"} <= keys
    for key in keys:
        assert key not in cat, f"{key} has plural variants and a plain entry"
        variants = [cat.get(f"{key}.{form}") for form in PLURAL_FORMS]
        assert all(v is not None for v in variants), f"{key} lacks a plural variant"
        wanted = fields(cat[f"{key}.other"]["en"])
        # chosen by count (argparse's own by argparse's n); "row {rows}" shows the rows, not their count
        if not key.startswith("argparse.") and "rows" not in wanted:
            assert "count" in wanted, f"{key}: plural variants are chosen by count, which the text must show"
        for entry in variants:
            assert entry is not None
            assert all(fields(entry[lang]) == wanted for lang in LANGUAGES), key
        # Chinese has no plural: both variants read the same
        assert cat[f"{key}.one"]["zh"] == cat[f"{key}.other"]["zh"], key


def test_plural_follows_the_count_in_english_only() -> None:
    assert t("count.station", count=1, lang="en") == "1 station"
    assert t("count.station", count=2, lang="en") == "2 stations"
    assert t("count.station", count=0, lang="en") == "0 stations"
    assert t("app.figures.stations", count=1, lang="en") == "1 station"
    assert t("inputs.more_problems", count=1, lang="en").startswith("... and 1 more problem not")
    assert t("count.station", count=1, lang="zh") == t("count.station", count=5, lang="zh").replace("5", "1")
    assert plural_form(1, lang="en") == "one"
    assert plural_form("1", lang="en") == "one"
    assert plural_form("1,001", lang="en") == "other"
    assert plural_form(1.5, lang="en") == "other"
    assert plural_form(1, lang="zh") == "other"
    import numpy as np

    assert plural_form(np.int64(1), lang="en") == "one"


def test_no_english_count_before_a_plural_noun_in_a_plain_key() -> None:
    # "1 stations": a number field right before a plural noun needs plural variants
    noun = re.compile(r"\{(?:count|n)\}\s+(?:[a-z]+\s+)?(stations|villages|rows|problems|points|sites|files|nodes)\b")
    plain = [k for k, v in catalogue().items() if k.rsplit(".", 1)[-1] not in PLURAL_FORMS and noun.search(v["en"])]
    assert not plain, plain
    bracketed = [k for k, v in catalogue().items() if re.search(r"\{count\}[^.]*?\w\(s\)", v["en"])]
    assert not bracketed, bracketed


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
