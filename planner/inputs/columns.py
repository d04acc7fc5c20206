"""Column decisions said out loud: which header of an input file was read as what.

Every table reader of :mod:`planner.inputs.tables` matches the user's headers to its
canonical columns (:class:`~planner.inputs._validate.ColumnSpec`). A
:class:`ColumnReport` records the outcome for one file: the header used for each
column (``名称 ← 村庄名称``), the headers left unused, a likely match for an unused
header that resembles a missing column (``村委会`` → 名称), and what the reader did for
a missing optional column (names from ids, every point weighing 1). The readers
return it with the table (:func:`planner.inputs.tables.read_table`);
:meth:`planner.workspace.workspace.Workspace.from_files` keeps and logs it, and
``planner check``, ``coverage``, ``site`` and the app's upload show it.

``python -m planner.inputs.columns > docs/inputs.md`` writes the page listing every
accepted header and tier spelling, generated from the same specs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from planner.i18n import join_names, t
from planner.inputs._validate import ColumnSpec, header_field, hinted, normalise_header

logger = logging.getLogger(__name__)

__all__ = ["HINT_ORDER", "TABLE_KINDS", "ColumnReport", "column_report", "page_text"]

#: The kinds of input table a report can describe.
TABLE_KINDS: tuple[str, ...] = ("stations", "demand", "enterprises", "candidates", "areas")

#: Columns tried, in this order, as the likely match of an unused header: a header with
#: words of two columns is taken for the first (``所属乡镇名称`` → township, ``乡镇人口``
#: → population, ``村委会名称`` → name). Columns not listed come last.
HINT_ORDER: tuple[str, ...] = ("lon", "lat", "population", "cost", "township", "tier", "id", "name")

#: Other accepted headers named in a "rename it" hint, after the first one.
ALIASES_SHOWN: int = 4


@dataclass(frozen=True)
class ColumnReport:
    """What a reader did with the columns of one file.

    Attributes
    ----------
    file
        The file as read (an XLSX file with its sheet: ``站点.xlsx [Sheet1]``).
    kind
        One of :data:`TABLE_KINDS`.
    used
        ``(column, header)`` for every canonical column found, in the reader's order.
    ignored
        Every non-empty header not used, in file order.
    duplicates
        ``(header, column)`` for unused headers that also name a column another header
        already provides (``户籍人口`` when ``常住人口`` is used).
    hints
        ``(header, column)`` for unused headers that look like a column the file lacks.
    warnings
        ``(i18n key, column)`` for what the reader did about a missing column
        (``inputs.columns.no_name_ids``, ``inputs.columns.no_population``...).
    specs
        The reader's column specs (for the accepted headers named in messages).
    """

    file: str
    kind: str
    used: tuple[tuple[str, str], ...] = ()
    ignored: tuple[str, ...] = ()
    duplicates: tuple[tuple[str, str], ...] = ()
    hints: tuple[tuple[str, str], ...] = ()
    warnings: tuple[tuple[str, str], ...] = ()
    specs: tuple[ColumnSpec, ...] = field(default=(), repr=False, compare=False)

    @property
    def name(self) -> str:
        """The file name without its folder (for the app, where files sit in a temporary folder)."""
        return Path(self.file).name

    def header(self, column: str) -> str | None:
        """The header read as ``column``, or ``None``."""
        return dict(self.used).get(column)

    @property
    def n_warnings(self) -> int:
        """Warning lines of :meth:`lines` (likely matches and missing columns)."""
        return len(self.hints) + len(self.warnings)

    def lines(self, *, lang: str | None = None) -> list[tuple[str, str]]:
        """The report as ``(level, text)`` lines, level ``"info"`` or ``"warning"``, without the file name.

        In order: the columns used (``名称 ← 村庄名称``; a header equal to the column's
        own name is shown once), the columns not used, one warning per likely match and
        one per missing column.
        """
        used = join_names((self._used_item(col, header, lang=lang) for col, header in self.used), lang=lang) or "—"
        kind = t(f"inputs.columns.kind.{self.kind}", lang=lang)
        out = [("info", t("inputs.columns.used", lang=lang, kind=kind, columns=used))]
        flagged = {h for h, _ in self.hints}
        also = dict(self.duplicates)
        items = []
        for header in self.ignored:
            if header in flagged:
                continue
            if header in also:
                col = also[header]
                items.append(
                    t(
                        "inputs.columns.duplicate",
                        lang=lang,
                        header=header,
                        column=self._label(col, lang=lang),
                        used=self.header(col) or "",
                    )
                )
            else:
                items.append(header)
        if items:
            out.append(("info", t("inputs.columns.ignored", lang=lang, columns=join_names(items, lang=lang))))
        for header, col in self.hints:
            out.append(("warning", t("inputs.columns.hint", lang=lang, header=header, **self._names(col, lang=lang))))
        for key, col in self.warnings:
            out.append(("warning", t(key, lang=lang, **self._names(col, lang=lang))))
        return out

    def log(self) -> None:
        """Log the report: the columns used and unused at INFO, likely matches and missing columns at WARNING."""
        for level, text in self.lines():
            logger.log(logging.WARNING if level == "warning" else logging.INFO, "%s", self.line(text))

    def line(self, text: str, *, lang: str | None = None) -> str:
        """``text`` (one of :meth:`lines`) prefixed with the file."""
        return t("inputs.columns.line", lang=lang, file=self.file, text=text)

    def _label(self, column: str, *, lang: str | None) -> str:
        return t(f"inputs.field.{column}", lang=lang)

    def _used_item(self, column: str, header: str, *, lang: str | None) -> str:
        label = self._label(column, lang=lang)
        return label if normalise_header(label) == normalise_header(header) else f"{label} ← {header}"

    def _names(self, column: str, *, lang: str | None) -> dict[str, str]:
        spec = next((s for s in self.specs if s.name == column), None)
        aliases = spec.aliases if spec is not None else (column,)
        rest = join_names(aliases[1 : 1 + ALIASES_SHOWN], lang=lang)
        return {"column": self._label(column, lang=lang), "alias": aliases[0], "aliases": rest or aliases[0]}


def likely_column(header: object, specs: Sequence[ColumnSpec], *, exclude: Sequence[str] = ()) -> str | None:
    """The column an unmatched ``header`` most likely means (see :data:`HINT_ORDER`), or ``None``.

    Columns in ``exclude`` (already found in the file) are not offered.
    """
    rank = {name: i for i, name in enumerate(HINT_ORDER)}
    ordered = sorted(specs, key=lambda s: rank.get(s.name, len(rank)))
    for spec in ordered:
        if spec.name not in exclude and hinted(header, spec):
            return spec.name
    return None


def column_report(
    *,
    file: str,
    kind: str,
    headers: Sequence[str],
    specs: Sequence[ColumnSpec],
    found: Mapping[str, int],
    warnings: Sequence[tuple[str, str]] = (),
) -> ColumnReport:
    """Describe how ``headers`` were matched to ``specs``.

    Parameters
    ----------
    file
        The file as named to the user.
    kind
        One of :data:`TABLE_KINDS`.
    headers
        The file's headers in order.
    specs
        The reader's column specs.
    found
        Column → header position, from :func:`~planner.inputs._validate.match_columns`.
    warnings
        ``(i18n key, column)`` for what the reader did about missing columns.
    """
    if kind not in TABLE_KINDS:
        msg = f"unknown table kind {kind!r}; use one of {TABLE_KINDS}"
        raise ValueError(msg)
    used = tuple((s.name, str(headers[found[s.name]]).strip()) for s in specs if s.name in found)
    taken = set(found.values())
    ignored: list[str] = []
    duplicates: list[tuple[str, str]] = []
    hints: list[tuple[str, str]] = []
    for pos, raw in enumerate(headers):
        header = str(raw).strip()
        if pos in taken or not header:
            continue
        ignored.append(header)
        also = header_field(header, specs)
        if also is not None:
            duplicates.append((header, also))
            continue
        guess = likely_column(header, specs, exclude=tuple(found))
        if guess is not None:
            hints.append((header, guess))
    return ColumnReport(
        file=file,
        kind=kind,
        used=used,
        ignored=tuple(ignored),
        duplicates=tuple(duplicates),
        hints=tuple(hints),
        warnings=tuple(warnings),
        specs=tuple(specs),
    )


# --------------------------------------------------------------------------- docs page
def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_page(*, lang: str | None = None) -> str:
    """Every accepted header per input file and every tier spelling, as a Markdown page."""
    from planner.inputs.tables import COLUMN_SPECS
    from planner.settings import TIER_WORDS

    head = tuple(t(f"inputs.page.{k}", lang=lang) for k in ("column", "required", "headers", "hints"))
    lines = [f"# {t('inputs.page.title', lang=lang)}", "", t("inputs.page.intro", lang=lang), ""]
    for kind, specs in COLUMN_SPECS.items():
        lines += [f"## {t(f'inputs.columns.kind.{kind}', lang=lang)}", ""]
        lines += ["| " + " | ".join(head) + " |", "|---|---|---|---|"]
        for spec in specs:
            cells = (
                f"{t(f'inputs.field.{spec.name}', lang=lang)} (`{spec.name}`)",
                t("inputs.page.yes", lang=lang) if spec.required else "",
                join_names((f"`{a}`" for a in spec.aliases), lang=lang),
                join_names((f"`{w}`" for w in spec.hints), lang=lang),
            )
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        lines.append("")
    lines += [f"## {t('inputs.page.tiers', lang=lang)}", "", t("inputs.page.tiers_intro", lang=lang), ""]
    lines += [f"| {t('inputs.page.tier', lang=lang)} | {t('inputs.page.spellings', lang=lang)} |", "|---|---|"]
    for tier, words in TIER_WORDS.items():
        lines.append(f"| {t(f'tier.{tier}', lang=lang)} | {_cell(join_names((f'`{w}`' for w in words), lang=lang))} |")
    return "\n".join(lines) + "\n"


def page_text() -> str:
    """``docs/inputs.md``: the page in Chinese, then in English."""
    return markdown_page(lang="zh") + "\n" + markdown_page(lang="en")


if __name__ == "__main__":  # python -m planner.inputs.columns > docs/inputs.md
    import sys

    sys.stdout.write(page_text())
