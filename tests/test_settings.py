from __future__ import annotations

import math
from pathlib import Path

import pytest

from planner._errors import ConfigError
from planner.settings import (
    DEFAULT_SPEEDS_KPH,
    DEFAULT_STANDARDS,
    DEFAULT_TIER_DEMAND,
    ROAD_CLASSES,
    TIER_ALIASES,
    TIER_EXAMPLES_SHOWN,
    TIER_WORDS,
    Config,
    Mode,
    Standard,
    Tier,
    load_config,
    parse_mode,
    parse_tier,
    parse_tier_demand,
    tier_key,
)


@pytest.mark.parametrize(
    ("word", "tier"),
    [
        ("县级", Tier.COUNTY),
        ("县", Tier.COUNTY),
        ("乡镇", Tier.TOWNSHIP),
        ("乡", Tier.TOWNSHIP),
        ("镇", Tier.TOWNSHIP),
        ("街道", Tier.TOWNSHIP),
        ("村", Tier.VILLAGE),
        ("社区", Tier.VILLAGE),
        ("村（社区）", Tier.VILLAGE),
        ("企业", Tier.ENTERPRISE),
        ("职工之家", Tier.ENTERPRISE),
        (" Township ", Tier.TOWNSHIP),
        ("enterprise", Tier.ENTERPRISE),
    ],
)
def test_tier_words(word: str, tier: Tier) -> None:
    assert parse_tier(word) is tier


# The spellings planners write (issue 12): each with its tier, as typed in a sheet.
PLANNER_SPELLINGS: dict[Tier, tuple[str, ...]] = {
    Tier.VILLAGE: ("村/社区", "村（社区）", "村(社区)", "社区/村", "村居", "村级", "社区级", "驿站", "服务驿站",
                   "户外劳动者服务驿站", "村／社区", "村 / 社区", "村、社区", "村　（社区）", "ＶＩＬＬＡＧＥ"),
    Tier.TOWNSHIP: ("乡镇/街道", "乡镇（街道）", "镇/街道", "乡/镇", "街道办", "街道办事处", "乡镇级", "乡镇／街道",
                    "镇（街道）", "街道/乡镇"),
    Tier.COUNTY: ("县/区", "县（市、区）", "县(市,区)", "县级/区级", "县级市", "县／区", "区/县"),
    Tier.ENTERPRISE: ("企业/职工之家", "工会", "企业工会", "企业（职工之家）", "企业／职工之家"),
}  # fmt: skip


@pytest.mark.parametrize(("word", "tier"), [(w, tr) for tr, words in PLANNER_SPELLINGS.items() for w in words])
def test_tier_spellings_as_planners_write_them(word: str, tier: Tier) -> None:
    assert parse_tier(word) is tier


@pytest.mark.parametrize("word", ["村/乡镇", "社区（企业）", "省级", "村委", "", "/", "()"])
def test_mixed_or_unknown_tier_words_are_refused(word: str) -> None:
    with pytest.raises(ConfigError, match="层级"):
        parse_tier(word)


def test_every_listed_spelling_parses_to_its_own_tier() -> None:
    for tier, words in TIER_WORDS.items():
        for word in words:
            assert parse_tier(word) is tier, word
    # no spelling is listed under two tiers (a dict built from them would silently keep one)
    keys = [tier_key(w) for words in TIER_WORDS.values() for w in words]
    assert len(keys) == len(set(keys)) == len(TIER_ALIASES)


def test_tier_key_folds_width_spaces_and_separators() -> None:
    assert tier_key("村 ／ 社区") == tier_key("村/社区") == tier_key("村、社区") == "村/社区"
    assert tier_key("村【社区】") == tier_key("村（社区）") == "村(社区)"
    assert tier_key(None) == ""


def test_unknown_tier_offers_only_spellings_that_parse() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_tier("党群服务站")
    offered = {tr: words[:TIER_EXAMPLES_SHOWN] for tr, words in TIER_WORDS.items()}
    for tier, words in offered.items():
        for word in words:
            assert parse_tier(word) is tier  # the message never offers a spelling that is refused
    for lang in ("zh", "en"):
        message = exc.value.message(lang)
        assert all(w in message for words in offered.values() for w in words)
        assert message.count("党群服务站") == 1  # named as the problem, never among the allowed


def test_unknown_tier_message_names_place() -> None:
    with pytest.raises(ConfigError, match="省级") as exc:
        parse_tier("省级", where=" (a.csv, row 3)")
    assert "a.csv, row 3" in exc.value.message("en")


def test_defaults_document_the_standards() -> None:
    assert DEFAULT_STANDARDS[Tier.VILLAGE] == Standard(Mode.WALK, 15.0, (5.0, 10.0, 15.0))
    assert DEFAULT_STANDARDS[Tier.COUNTY].mode is Mode.DRIVE
    # GB 50180-2018: 15 minutes on foot is about 1000 m
    assert DEFAULT_SPEEDS_KPH[Mode.WALK]["residential"] * 1000 / 60 * 15 == pytest.approx(1000)
    assert math.isnan(DEFAULT_SPEEDS_KPH[Mode.DRIVE]["footway"])
    assert math.isnan(DEFAULT_SPEEDS_KPH[Mode.WALK]["motorway"])
    for mode in Mode:
        assert set(DEFAULT_SPEEDS_KPH[mode]) == set(ROAD_CLASSES)


def test_overrides_do_not_mutate_defaults() -> None:
    cfg = Config().with_overrides(tier=Tier.VILLAGE, minutes=10, mode=Mode.BIKE)
    assert cfg.standards[Tier.VILLAGE] == Standard(Mode.BIKE, 10.0, (5.0, 10.0))
    assert DEFAULT_STANDARDS[Tier.VILLAGE].minutes == 15.0
    all_tiers = Config().with_overrides(minutes=20)
    assert all(s.minutes == 20.0 for s in all_tiers.standards.values())


def test_load_config(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text(
        'walk_speed_kph = 4.5\nmax_snap_m = 300\n[standards."村"]\nminutes = 10\n'
        '[standards.county]\nmode = "ebike"\n[speeds_kph.drive]\nresidential = 20\n',
        encoding="utf-8",
    )
    cfg = load_config(p)
    assert cfg.walk_speed_kph == 4.5 and cfg.max_snap_m == 300
    assert cfg.standards[Tier.VILLAGE] == Standard(Mode.WALK, 10.0, (5.0, 10.0))
    assert cfg.standards[Tier.COUNTY].mode is Mode.EBIKE
    assert cfg.speeds_kph[Mode.DRIVE]["residential"] == 20
    assert Config().speeds_kph[Mode.DRIVE]["residential"] == 25


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("walk_speed = 4\n", "walk_speed"),
        ("[standards.village]\nminutes = -5\n", "-5"),
        ("[standards.village]\nmode = 'boat'\n", "boat"),
        ("[speeds_kph.drive]\nhighway_x = 30\n", "highway_x"),
        ("[speeds_kph.drive]\nprimary = 0\n", "primary"),
        ("not toml [", "TOML"),
        ("[tier_demand]\nenterprise = 'everyone'\n", "everyone"),
        ("[tier_demand]\nfactory = 'all'\n", "factory"),
        ("[tier_capacity]\nvillage = -10\n", "tier_capacity.village"),
        ("[tier_capacity]\nvillage = 'lots'\n", "lots"),
    ],
)
def test_bad_config(tmp_path: Path, text: str, match: str) -> None:
    p = tmp_path / "bad.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_config(p)
    assert match in exc.value.message("en")


def test_tier_capacity_from_the_config_file(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('[tier_capacity]\n"村" = 3000\ntownship = 0\n', encoding="utf-8")
    cfg = load_config(p)
    assert cfg.capacity_of(Tier.VILLAGE) == 3000.0 and cfg.capacity_of(Tier.TOWNSHIP) == 0.0
    assert cfg.capacity_of(Tier.COUNTY) == float("inf")  # not named: unlimited
    assert cfg.to_dict()["tier_capacity"] == {"village": 3000.0, "township": 0.0}
    assert Config().to_dict()["tier_capacity"] == {}


def test_parse_mode() -> None:
    assert parse_mode("Drive") is Mode.DRIVE
    with pytest.raises(ConfigError, match="car"):
        parse_mode("car")


def test_tier_demand_defaults_overrides_and_config_file(tmp_path: Path) -> None:
    cfg = Config()
    assert dict(cfg.tier_demand) == {Tier.COUNTY: "residents", Tier.TOWNSHIP: "residents",
                                     Tier.VILLAGE: "residents", Tier.ENTERPRISE: "enterprise"}  # fmt: skip
    everyone = cfg.with_overrides(tier_demand={Tier.ENTERPRISE: "all"})
    assert everyone.tier_demand[Tier.ENTERPRISE] == "all" and everyone.tier_demand[Tier.VILLAGE] == "residents"
    assert cfg.tier_demand[Tier.ENTERPRISE] == DEFAULT_TIER_DEMAND[Tier.ENTERPRISE] == "enterprise"
    assert everyone.to_dict()["tier_demand"]["enterprise"] == "all"
    p = tmp_path / "c.toml"
    p.write_text('[tier_demand]\n"企业" = "全部"\n', encoding="utf-8")
    assert load_config(p).tier_demand[Tier.ENTERPRISE] == "all"


def test_parse_tier_demand() -> None:
    assert parse_tier_demand(" All ") == "all"
    assert parse_tier_demand("居民") == "residents"
    assert parse_tier_demand("企业") == "enterprise"
    with pytest.raises(ConfigError, match="--tier-demand enterprise=all"):
        parse_tier_demand("everyone")
