"""The message catalogue: every key in both languages with the same fields; keys used in code exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from planner.i18n import LANGUAGES, catalogue, fields, get_language, set_language, t

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
