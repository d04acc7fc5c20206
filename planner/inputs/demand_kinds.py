"""Kinds of demand rows: residents (village, community) or enterprise workers, and where they came from.

The kind of every demand row comes from exactly one source, said out loud: a 类型
column (:data:`KIND_WORDS`), a separate enterprise file (every row enterprise workers),
or neither (every row residents). A demand point's *name* is never used: a community
called 化肥厂社区 is not a factory. :class:`DemandKinds` describes the source in one
line for ``planner check``, the CLI log and the app.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planner.i18n import join_names, t
from planner.inputs._decode import _Table
from planner.inputs._validate import ProblemLog
from planner.settings import DEMAND_KINDS, DemandKind

logger = logging.getLogger(__name__)

__all__ = ["KIND_WORDS", "DemandKinds", "demand_kinds", "kind_of"]

#: Values of a demand file's 类型 column and the kind they name, as matched: NFKC (full-width
#: forms become half-width), lower case, no spaces or brackets, separators 、，,|／ as "/".
#: A demand point's *name* is never used: a community called 化肥厂社区 is not a factory.
KIND_WORDS: Mapping[str, DemandKind] = {
    **dict.fromkeys(("村", "行政村", "自然村", "村庄", "村委会", "村民委员会", "village"), "village"),
    **dict.fromkeys(("社区", "居委会", "居民委员会", "社区居委会", "城市社区", "community"), "community"),
    **dict.fromkeys(
        ("村/社区", "社区/村", "村社区", "社区村", "村居", "居民", "居民点", "居民区", "residents", "resident"),
        "residents",
    ),
    **dict.fromkeys(
        ("企业", "职工", "企业职工", "职工之家", "企业职工之家", "工厂", "厂", "厂矿", "公司", "园区", "工业园",
         "工业园区", "产业园", "产业园区", "enterprise", "company", "factory", "workers", "employees"),
        "enterprise",
    ),
}  # fmt: skip
#: Endings that name a kind when the whole value is not in :data:`KIND_WORDS` (城中村, 民营企业,
#: 经济开发区园区...); checked in this order, only for values without a separator.
_KIND_ENDINGS: tuple[tuple[str, DemandKind], ...] = (
    ("村民委员会", "village"),
    ("居民委员会", "community"),
    ("村委会", "village"),
    ("居委会", "community"),
    ("社区", "community"),
    ("村", "village"),
    ("企业", "enterprise"),
    ("公司", "enterprise"),
    ("工厂", "enterprise"),
    ("园区", "enterprise"),
)
_KIND_SEPARATORS = re.compile(r"[、,;|/\\]+")
_KIND_DROP = str.maketrans("", "", "()[]{}<>【】《》\"'“”")


@dataclass(frozen=True)
class DemandKinds:
    """Where the kinds of one demand file's rows came from: shown by ``check``, the CLI log and the app.

    Attributes
    ----------
    file
        The file as the user named it (:meth:`describe` shows its name without folders).
    source
        ``"column"``: a 类型 column; ``"file"``: an enterprise file (every row enterprise
        workers); ``"none"``: neither (every row residents); ``"table"``: a table built in
        code with a ``kind`` column (the demo county).
    counts
        Rows per kind (:data:`planner.settings.DEMAND_KINDS`).
    column, column_number
        Header and 1-based position of the 类型 column (``"column"``), or of a 类型 column
        an enterprise file has and that is not used (``"file"``).
    blank
        Rows whose 类型 cell is empty (counted as residents).
    """

    file: str
    source: Literal["column", "file", "none", "table"]
    counts: Mapping[str, int] = field(default_factory=dict)
    column: str = ""
    column_number: int = 0
    blank: int = 0

    @classmethod
    def of_table(cls, demand: pd.DataFrame, *, file: str = "") -> DemandKinds:
        """The kinds of a demand table built in code (``""`` or a missing ``kind`` column: residents)."""
        kinds = demand["kind"].fillna("").astype(str).replace("", "residents") if "kind" in demand else None
        if kinds is None:
            return cls(file=file, source="none", counts={"residents": len(demand)})
        return cls(file=file, source="table", counts=_kind_counts(kinds.to_numpy(dtype=object)))

    def describe(self, *, lang: str | None = None) -> str:
        """One line: where the kinds came from and how many rows each kind has."""
        file = Path(self.file).name or self.file
        counts = join_names(
            [f"{t(f'demand_kind.{k}', lang=lang)} {n:,}" for k, n in self.counts.items() if n],
            lang=lang,
        )
        if self.source == "column":
            blank = t("inputs.kinds.blank", lang=lang, count=self.blank) if self.blank else ""
            key, params = "inputs.kinds.column", {"column": self.column, "number": self.column_number}
            return t(key, lang=lang, file=file, counts=counts, blank=blank, **params)
        if self.source == "file":
            unused = t("inputs.kinds.column_unused", lang=lang, column=self.column) if self.column else ""
            n = sum(self.counts.values())
            return t("inputs.kinds.file", lang=lang, file=file, count=n, unused=unused)
        if self.source == "table":
            return t("inputs.kinds.table", lang=lang, file=file or "—", counts=counts)
        return t("inputs.kinds.none", lang=lang, file=file, count=sum(self.counts.values()))


def _kind_key(value: object) -> str:
    """A 类型 value as matched against :data:`KIND_WORDS`."""
    text = unicodedata.normalize("NFKC", str(value)).strip().lower()
    text = re.sub(r"\s+", "", text).translate(_KIND_DROP)
    return _KIND_SEPARATORS.sub("/", text).strip("/")


def kind_of(value: object) -> DemandKind | None:
    """The demand kind a 类型 value names (:data:`KIND_WORDS`, then a few endings); ``None`` if none."""
    return _kind_of_key(_kind_key(value))


def _kind_of_key(key: str) -> DemandKind | None:
    kind = KIND_WORDS.get(key)
    if kind is None and key and "/" not in key:
        kind = next((k for ending, k in _KIND_ENDINGS if key.endswith(ending)), None)
    return kind


def _kind_counts(kinds: NDArray[Any]) -> dict[str, int]:
    values, counts = np.unique(np.asarray(kinds, dtype=str), return_counts=True)
    found = dict(zip(values.tolist(), counts.tolist(), strict=True))
    return {k: int(found[k]) for k in DEMAND_KINDS if k in found}


def demand_kinds(
    table: _Table, found: dict[str, int], log: ProblemLog, rows: NDArray[np.int64], *, enterprise: bool
) -> tuple[NDArray[Any], DemandKinds]:
    """Kind of every row of a demand table and where it came from.

    Parameters
    ----------
    table, found, log, rows
        The decoded file, its matched columns, its problem log and row numbers.
    enterprise
        The file lists enterprises: every row is enterprise workers.

    Returns
    -------
    tuple
        The kinds (:data:`planner.settings.DEMAND_KINDS`) and a :class:`DemandKinds`.
        A 类型 value that names no kind is added to ``log`` once, with its rows.
    """
    n = table.n_rows
    column = table.headers[found["kind"]] if "kind" in found else ""
    number = found["kind"] + 1 if "kind" in found else 0
    if enterprise:
        if column:
            logger.info(
                "%s: every row of an enterprise file is enterprise workers; column %r not used", table.file, column
            )
        source = DemandKinds(table.file, "file", {"enterprise": n}, column=column, column_number=number)
        return np.full(n, "enterprise", dtype=object), source
    if not column:
        logger.info("%s: no 类型 column; every row counts as residents (names are not used to guess)", table.file)
        return np.full(n, "residents", dtype=object), DemandKinds(table.file, "none", {"residents": n})
    values = table.column(found["kind"])
    codes, uniques = pd.factorize(values.map(_kind_key))  # 学校 and 学 校 are one value
    parsed = [_kind_of_key(key) if key else "residents" for key in uniques]  # once per distinct value
    for j in range(len(uniques)):
        if parsed[j] is None:
            where = np.flatnonzero(codes == j)
            log.add_rows(
                "inputs.unknown_kind",
                rows=[int(rows[i]) for i in where],
                column=column,
                value=str(values.iloc[where[0]])[:40],
                count=len(where),
            )
    kinds = np.asarray([k or "" for k in parsed], dtype=object)[codes] if n else np.empty(0, dtype=object)
    blank = int((np.asarray(uniques, dtype=object)[codes] == "").sum()) if n else 0
    return kinds, DemandKinds(
        table.file, "column", _kind_counts(kinds), column=column, column_number=number, blank=blank
    )
