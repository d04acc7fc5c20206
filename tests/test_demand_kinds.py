"""planner.inputs.demand_kinds: where the kinds of demand rows come from (类型 column, enterprise file, neither)."""

from __future__ import annotations

import pytest

from planner.inputs._validate import InputProblemsError
from planner.inputs.demand_kinds import KIND_WORDS, kind_of
from planner.inputs.tables import read_demand, read_table


def test_names_never_make_a_row_an_enterprise(tmp_path):
    """No 类型 column: every row is residents, whatever its name says (化肥厂社区 is no factory)."""
    path = tmp_path / "d.csv"
    path.write_text(
        "名称,人口,经度,纬度\n化肥厂社区,3200,117.21,28.28\n东风村,800,117.22,28.29\n鲁阳纺织有限公司,560,117.23,28.30\n",
        encoding="utf-8",
    )
    df, _, kinds = read_table(path, kind="demand")
    assert df["kind"].tolist() == ["residents"] * 3
    assert (kinds.source, dict(kinds.counts)) == ("none", {"residents": 3})
    assert kinds.describe(lang="zh") == f"{path.name}：无类型列，3 行全部按居民（村/社区）计；名称不用于判断类型。"


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("村", "village"),
        ("行政村", "village"),
        ("城中村", "village"),
        ("村委会", "village"),
        ("社区", "community"),
        ("居委会", "community"),
        ("村/社区", "residents"),
        ("村／社区", "residents"),  # full-width slash
        ("村（社区）", "residents"),
        ("村(社区)", "residents"),
        (" 村 / 社区 ", "residents"),
        ("村、社区", "residents"),
        ("村居", "residents"),
        ("企业", "enterprise"),
        ("职工", "enterprise"),
        ("工厂", "enterprise"),
        ("园区", "enterprise"),
        ("工业园区", "enterprise"),
        ("民营企业", "enterprise"),
        ("ＥＮＴＥＲＰＲＩＳＥ", "enterprise"),  # full-width letters
        ("Village", "village"),
        ("学校", None),
        ("村/企业", None),  # two kinds in one cell: not guessed
    ],
)
def test_kind_spellings(value, kind):
    assert kind_of(value) == kind


def test_kind_words_are_written_as_they_are_matched():
    """Every entry of the table can match: it is its own normalised form."""
    for word, kind in KIND_WORDS.items():
        assert kind_of(word) == kind, word


def test_type_column_gives_kinds_and_says_where(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(
        "编号,名称,人口,类型,经度,纬度\n"
        "1,东风村,800,村,117.22,28.29\n2,化肥厂社区,3200,社区,117.21,28.28\n"
        "3,鲁阳纺织,560,企业,117.23,28.30\n4,某地,90,,117.23,28.31\n",
        encoding="utf-8",
    )
    df, _, kinds = read_table(path, kind="demand")
    assert df["kind"].tolist() == ["village", "community", "enterprise", "residents"]
    assert (kinds.source, kinds.column, kinds.column_number, kinds.blank) == ("column", "类型", 4, 1)
    assert kinds.describe(lang="zh") == (
        f"{path.name}：需求类型取自“类型”列（第 4 列）：村 1、社区 1、村/社区（居民） 1、企业职工 1"
        "（其中 1 行类型为空，按居民计）。"
    )
    assert "column '类型' (column 4)" in kinds.describe(lang="en")


def test_unknown_type_is_reported_once_per_value_with_its_rows(tmp_path):
    rows = ["村", "学校", "学校", "学 校", "企业", "学校", "医院", "学校"]
    body = "".join(f"{k},{v},10,117.2,28.3\n" for k, v in enumerate(rows, start=1))
    path = tmp_path / "d.csv"
    path.write_text("编号,类型,人口,经度,纬度\n" + body, encoding="utf-8")
    with pytest.raises(InputProblemsError) as exc:
        read_demand(path)
    problems = [p for p in exc.value.problems if p.key == "inputs.unknown_kind"]
    assert len(problems) == 2  # 学校 (also written 学 校) and 医院, once each
    by_value = {p.params["value"]: p for p in problems}
    assert by_value["学校"].rows == (3, 4, 5, 7, 9) and by_value["学校"].params["count"] == 5
    assert by_value["医院"].row == 8
    text = exc.value.message(lang="zh")
    assert "第 3–5、7、9 行，“类型”列：类型“学校”无法识别（共 5 行）" in text
    assert "rows 3–5, 7, 9" in exc.value.message(lang="en")
    assert text.count("学校") == 1


def test_enterprise_file_is_all_enterprise_workers(tmp_path):
    path = tmp_path / "企业.csv"
    path.write_text(
        "企业名称,职工人数,类型,经度,纬度\n贵溪冶炼厂,2400,村,117.21,28.28\n某纺织公司,380,,117.22,28.29\n",
        encoding="utf-8",
    )
    df, _, kinds = read_table(path, kind="enterprises")
    assert df["kind"].tolist() == ["enterprise", "enterprise"]
    assert df["population"].tolist() == [2400.0, 380.0]  # 职工人数 is the population of an enterprise row
    assert df["name"].tolist() == ["贵溪冶炼厂", "某纺织公司"]
    assert df["id"].tolist() == ["ent-row2", "ent-row3"]  # not the demand file's row2, row3
    assert (kinds.source, dict(kinds.counts), kinds.column) == ("file", {"enterprise": 2}, "类型")
    assert kinds.describe(lang="zh") == f"{path.name}：企业文件，2 行全部为企业职工（人口即职工人数），“类型”列未使用。"
