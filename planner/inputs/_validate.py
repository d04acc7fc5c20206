"""Input checks shared by every reader: one place, all problems collected, one error.

Readers call these helpers first. Problems in rows and columns are collected in a
:class:`ProblemLog` and raised together as one :class:`InputProblemsError` (an
:class:`~planner._errors.InputError`) listing up to :data:`MAX_LISTED_PROBLEMS` of them,
each with the file, the spreadsheet row (header = row 1), the user's column header and
how to fix it. File-level failures (missing file, wrong format, encoding) raise at once.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planner._errors import InputError
from planner.i18n import join_names, t
from planner.inputs.limits import CLI_LIMITS

if TYPE_CHECKING:
    from planner.inputs.columns import ColumnReport

logger = logging.getLogger(__name__)

#: Largest input file read by default (bytes): :attr:`planner.inputs.limits.Limits.file_bytes`
#: of the command line's limits; every reader takes ``limits=`` to override.
MAX_INPUT_BYTES: int = CLI_LIMITS.file_bytes
#: Problems listed in one error message; the rest are counted.
MAX_LISTED_PROBLEMS: int = 20
#: China's extent used to recognise swapped columns (degrees).
CHINA_LAT_BAND_DEG: tuple[float, float] = (18.0, 54.0)
CHINA_LON_BAND_DEG: tuple[float, float] = (73.0, 135.0)
#: Coordinates larger than this (in absolute value) are taken for projected metres.
PROJECTED_THRESHOLD: float = 10000.0

#: File kinds by extension.
SUFFIX_KINDS: dict[str, str] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".geojson": "geo",
    ".json": "geo",
    ".gpkg": "geo",
    ".zip": "geo",  # a zipped shapefile (planner.inputs.shapezip)
}
SUPPORTED_SUFFIXES = "、".join(SUFFIX_KINDS)


# --------------------------------------------------------------------------- problems
@dataclass(frozen=True)
class Problem:
    """One problem found in an input file.

    Attributes
    ----------
    key
        i18n key of the message (``inputs.*``).
    row
        Spreadsheet row number (header = 1) or feature number, or ``None`` for the file.
    rows
        Several rows with the same problem (one message for all of them, shown as
        ranges such as "rows 2–12, 15"); ``row`` is then ``None``.
    column
        The user's column header, or ``None``.
    params
        Values for the message.
    """

    key: str
    row: int | None = None
    column: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    rows: tuple[int, ...] = ()

    @property
    def first_row(self) -> int | None:
        """The (first) row of the problem, ``None`` for the whole file."""
        return self.rows[0] if self.rows else self.row

    def render(self, *, lang: str | None = None, row_kind: str = "row") -> str:
        """Return the one-line message (location + what is wrong + how to fix)."""
        text = t(self.key, lang=lang, **self.params)
        if self.rows and self.column is not None:
            where = t(
                f"inputs.where.{row_kind}s_column", lang=lang, rows=row_ranges(self.rows, lang=lang), column=self.column
            )
        elif self.row is not None and self.column is not None:
            where = t(f"inputs.where.{row_kind}_column", lang=lang, row=self.row, column=self.column)
        elif self.row is not None:
            where = t(f"inputs.where.{row_kind}", lang=lang, row=self.row)
        elif self.column is not None:
            where = t("inputs.where.column", lang=lang, column=self.column)
        else:
            where = ""
        return where + text


class InputProblemsError(InputError):
    """Several problems in one input file, reported together.

    Attributes
    ----------
    file
        The file as the user named it.
    problems
        Every problem found (the message lists the first :data:`MAX_LISTED_PROBLEMS`).
    columns
        Which header was taken for which column, when the headers could be matched
        (``planner check`` shows it next to the problems).
    """

    def __init__(
        self, file: str, problems: Sequence[Problem], *, row_kind: str = "row", columns: ColumnReport | None = None
    ) -> None:
        super().__init__("inputs.problems", file=file, count=len(problems))
        self.file = file
        self.columns = columns
        self.problems = sorted(problems, key=lambda p: -1 if p.first_row is None else p.first_row)  # file-level first
        self.row_kind = row_kind

    def message(self, lang: str | None = None) -> str:
        """Return the full message, one problem per line, in ``lang``."""
        lines = [p.render(lang=lang, row_kind=self.row_kind) for p in self.problems[:MAX_LISTED_PROBLEMS]]
        rest = len(self.problems) - MAX_LISTED_PROBLEMS
        if rest > 0:
            lines.append(t("inputs.more_problems", lang=lang, count=rest))
        details = "\n".join(f"  - {line}" for line in lines)
        return t("inputs.problems", lang=lang, file=self.file, count=len(self.problems), details=details)


class ProblemLog:
    """Collect problems of one file, then raise them together.

    Parameters
    ----------
    file
        The file name shown to the user.
    row_kind
        ``"row"`` for tables, ``"feature"`` for GeoJSON/GeoPackage.
    """

    def __init__(self, file: str, *, row_kind: str = "row") -> None:
        self.file = file
        self.row_kind = row_kind
        self.problems: list[Problem] = []
        #: The file's column report, once its headers are matched (passed on to the error).
        self.columns: ColumnReport | None = None

    def add(self, key: str, *, row: int | None = None, column: str | None = None, **params: Any) -> None:
        """Record one problem."""
        self.problems.append(Problem(key, row=row, column=column, params=params))

    def add_rows(self, key: str, *, rows: Iterable[int], column: str, **params: Any) -> None:
        """Record one problem shared by several rows (one message naming them all as ranges)."""
        ordered = tuple(sorted({int(r) for r in rows}))
        if len(ordered) == 1:
            self.add(key, row=ordered[0], column=column, **params)
        elif ordered:
            self.problems.append(Problem(key, column=column, params=params, rows=ordered))

    def __len__(self) -> int:
        return len(self.problems)

    def raise_if_any(self) -> None:
        """Raise :class:`InputProblemsError` if any problem was recorded."""
        if self.problems:
            raise InputProblemsError(self.file, self.problems, row_kind=self.row_kind, columns=self.columns)


def row_ranges(rows: Sequence[int], *, lang: str | None = None, max_spans: int | None = None) -> str:
    """Sorted row numbers as ranges: ``2–12、15`` (Chinese) or ``2–12, 15`` (English).

    With ``max_spans``, at most that many ranges are written, then ``…``.
    """
    ordered = sorted({int(r) for r in rows})
    spans: list[str] = []
    i = 0
    while i < len(ordered) and (max_spans is None or len(spans) < max_spans):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        spans.append(str(ordered[i]) if i == j else f"{ordered[i]}–{ordered[j]}")
        i = j + 1
    text = join_names(spans, lang=lang)
    return text + (" …" if i < len(ordered) else "")


# --------------------------------------------------------------------------- files
def check_file(path: str | Path, *, max_bytes: int = MAX_INPUT_BYTES) -> tuple[Path, str]:
    """Check that ``path`` exists, has a supported extension and is not too large or empty.

    Returns
    -------
    tuple
        The path and its kind: ``"csv"``, ``"xlsx"`` or ``"geo"``.

    Raises
    ------
    InputError
        For a missing file, a folder, an unsupported or old-Excel extension, a file over
        ``max_bytes`` or an empty file.
    """
    p = Path(path)
    name = str(path)
    if not p.exists():
        raise InputError("inputs.file_not_found", file=name)
    if p.is_dir():
        raise InputError("inputs.is_directory", file=name)
    suffix = p.suffix.lower()
    if suffix == ".xls":
        raise InputError("inputs.old_excel", file=name)
    kind = SUFFIX_KINDS.get(suffix)
    if kind is None:
        raise InputError("inputs.unsupported_extension", file=name, suffix=suffix or "—", supported=SUPPORTED_SUFFIXES)
    size = p.stat().st_size
    if size > max_bytes:
        raise InputError(
            "inputs.too_large", file=name, size_mb=round(size / 2**20, 1), limit_mb=round(max_bytes / 2**20, 1)
        )
    if size == 0:
        raise InputError("inputs.empty_file", file=name)
    return p, kind


def read_failure(exc: BaseException, *, path: str | Path, file: str) -> InputError | None:
    """The message for ``exc`` raised while reading ``path`` when the file itself is the cause.

    The file may vanish or lose its read permission between :func:`check_file` and the
    read (a sync client, a colleague, a full-disk cleanup). An :class:`OSError` is always
    such a cause; a library error without an ``errno`` (pyogrio, openpyxl) is when the
    file is gone or unreadable now.

    Returns
    -------
    InputError or None
        ``fault.cannot_read`` naming ``file`` and why; None when the file looks fine
        (then the content is to blame and the caller says so).
    """
    p = Path(path)
    if isinstance(exc, FileNotFoundError) or not (p.exists() or p.is_symlink()):
        word = "missing"
    elif isinstance(exc, PermissionError) or not os.access(p, os.R_OK):
        word = "permission"
    elif isinstance(exc, OSError):
        word = "unknown"
    else:
        return None
    detail = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
    return InputError("fault.cannot_read", file=file, reason=t(f"fault.read_reason.{word}", detail=detail))


def decode_text(raw: bytes, *, file: str) -> str:
    """Decode CSV bytes: UTF-8 (with or without BOM), UTF-16 with BOM, else GBK/GB18030.

    Raises
    ------
    InputError
        If the bytes are a zip/Excel file, binary junk, or valid in none of the encodings
        (the message gives the line of the first bad byte).
    """
    if raw.startswith(b"PK\x03\x04"):
        raise InputError("inputs.zip_as_csv", file=file)
    if raw.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError("inputs.old_excel", file=file)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InputError(
                "inputs.bad_encoding", file=file, encoding="UTF-16", line=_line_of(raw, exc.start)
            ) from None
    sample = raw[:65536]
    controls = sum(sample.count(bytes([c])) for c in range(32) if c not in (9, 10, 12, 13))
    if b"\x00" in sample or controls > 0.02 * len(sample):
        raise InputError("inputs.binary_file", file=file)
    text, encoding, bad_at = utf8_or_gb18030(raw)
    if text is None:
        raise InputError("inputs.bad_encoding", file=file, encoding=encoding, line=_line_of(raw, bad_at))
    if encoding == "gb18030":
        logger.info("%s: read as GBK/GB18030 (not UTF-8)", file)
    return text


def utf8_or_gb18030(raw: bytes) -> tuple[str | None, str, int]:
    """Decode text bytes as UTF-8 (with or without BOM), else as GBK/GB18030.

    The one choice between the two encodings of Chinese files, used for CSV text
    (:func:`decode_text`) and for the records of a shapefile's ``.dbf``
    (:mod:`planner.inputs.shapezip`).

    Returns
    -------
    tuple
        ``(text, encoding, -1)`` with the codec used (``"utf-8-sig"`` or ``"gb18030"``);
        or, when the bytes are valid in neither, ``(None, name, offset)``: the encoding
        the bytes most likely are (``"UTF-8"`` or ``"GBK/GB18030"``, for a message) and
        the offset of its first bad byte.
    """
    try:
        return raw.decode("utf-8-sig"), "utf-8-sig", -1
    except UnicodeDecodeError as exc_utf8:
        utf8_at = exc_utf8.start
    # A UTF-8 file with a damaged byte has many valid non-ASCII characters and few bad
    # ones; a GBK file read as UTF-8 has almost none valid. Do not decode the former as
    # GBK (it would "work" and give garbled text).
    head = raw[: 1 << 20]
    lossy = head.decode("utf-8", errors="replace")
    replaced = lossy.count("\ufffd")
    ascii_bytes = len(head) - len(head.translate(None, bytes(range(128))))
    valid_non_ascii = len(lossy) - ascii_bytes - replaced
    if valid_non_ascii > 10 * replaced:
        return None, "UTF-8", utf8_at
    try:
        return raw.decode("gb18030"), "gb18030", -1
    except UnicodeDecodeError as exc_gb:
        # report the encoding that got further: that is most likely the real one
        if exc_gb.start >= utf8_at:
            return None, "GBK/GB18030", exc_gb.start
        return None, "UTF-8", utf8_at


def _line_of(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


# --------------------------------------------------------------------------- headers
_BRACKETS = str.maketrans("", "", "()（）[]【】{}<>《》")
_BRACKETED = re.compile(r"[(（\[【{<《][^)）\]】}>》]*[)）\]】}>》]")


def normalise_header(text: object) -> str:
    """Return a header for matching: NFKC, lower case, no spaces, no brackets."""
    s = unicodedata.normalize("NFKC", str(text)).strip().lower()
    s = re.sub(r"\s+", "", s)
    return s.translate(_BRACKETS)


def _header_keys(text: object) -> tuple[str, str]:
    """Two matching keys: brackets removed, and bracketed parts removed (``经度（GCJ）`` → ``经度``)."""
    full = normalise_header(text)
    stripped = normalise_header(_BRACKETED.sub("", unicodedata.normalize("NFKC", str(text))))
    return full, stripped


@dataclass(frozen=True)
class ColumnSpec:
    """A canonical column: its name, the headers that mean it, and whether it is required.

    Attributes
    ----------
    name
        Canonical column name (``"name"``, ``"population"``...).
    aliases
        Headers accepted as this column (matched by :func:`normalise_header`, also with a
        bracketed part removed: ``人口（人）`` is ``人口``). When several columns of a file
        match, the one whose alias comes first here wins (``常住人口`` before
        ``户籍人口``), then the leftmost.
    required
        Whether a file without it is refused.
    hints
        Words that make an unmatched header *look like* this column (``村委会`` → name):
        such a header is not used, but the column report names it as a likely match.
    """

    name: str
    aliases: tuple[str, ...]
    required: bool = False
    hints: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """Short bilingual label for messages, e.g. ``经度/lon``."""
        return f"{self.aliases[0]}/{self.name}"


def alias_index(specs: Iterable[ColumnSpec]) -> dict[str, str]:
    """Map each normalised alias to its canonical column name (first spec wins)."""
    return {key: name for key, (name, _rank) in _ranked_index(specs).items()}


def _ranked_index(specs: Iterable[ColumnSpec]) -> dict[str, tuple[str, int]]:
    out: dict[str, tuple[str, int]] = {}
    for spec in specs:
        for rank, alias in enumerate(spec.aliases):
            out.setdefault(normalise_header(alias), (spec.name, rank))
    return out


def header_field(header: object, specs: Sequence[ColumnSpec]) -> str | None:
    """The canonical column ``header`` names among ``specs`` (its own text first, then without a bracketed part)."""
    index = _ranked_index(specs)
    for key in _header_keys(header):
        hit = index.get(key)
        if hit is not None:
            return hit[0]
    return None


def header_score(cells: Sequence[str], specs: Sequence[ColumnSpec]) -> tuple[int, int]:
    """Return (required columns matched, all columns matched) for a candidate header row."""
    index = alias_index(specs)
    found = {index.get(k) for cell in cells for k in _header_keys(cell)} - {None}
    required = sum(1 for s in specs if s.required and s.name in found)
    return required, len(found)


def match_columns(
    headers: Sequence[str],
    specs: Sequence[ColumnSpec],
    *,
    log: ProblemLog,
    optional_present: Iterable[str] = (),
) -> dict[str, int]:
    """Match the user's headers to canonical columns.

    Parameters
    ----------
    headers
        Header texts in file order.
    specs
        Canonical columns with their aliases.
    log
        Receives one problem per missing required column, suggesting the closest header.
    optional_present
        Required column names that another source already provides (e.g. geometry
        provides lon/lat), so they are not reported missing.

    Returns
    -------
    dict
        Canonical name → column position. When several headers mean one column, the
        one whose alias is listed first in its :class:`ColumnSpec` wins, then the
        leftmost; the others are left unused (:mod:`planner.inputs.columns` reports them).
    """
    index = _ranked_index(specs)
    best: dict[str, tuple[int, int]] = {}
    for pos, header in enumerate(headers):
        for key in _header_keys(header):
            hit = index.get(key)
            if hit is not None:
                name, rank = hit
                if name not in best or (rank, pos) < best[name]:
                    best[name] = (rank, pos)
                break
    found = {name: pos for name, (_rank, pos) in best.items()}
    unused = [h for pos, h in enumerate(headers) if pos not in found.values() and str(h).strip()]
    provided = set(optional_present)
    for spec in specs:
        if not spec.required or spec.name in found or spec.name in provided:
            continue
        suggestion = next((h for h in unused if hinted(h, spec)), None) or _closest(unused, spec.aliases)
        aliases = "、".join(spec.aliases)
        if suggestion is not None:
            log.add("inputs.missing_column_suggest", label=spec.label, aliases=aliases, found=suggestion)
        else:
            shown = "、".join(str(h) for h in headers if str(h).strip())[:200] or "—"
            log.add("inputs.missing_column", label=spec.label, aliases=aliases, headers=shown)
    return found


def hinted(header: object, spec: ColumnSpec) -> bool:
    """Whether ``header`` contains one of the spec's hint words (``村委会名称`` → name)."""
    key = normalise_header(header)
    return any(normalise_header(word) in key for word in spec.hints)


def _closest(candidates: Sequence[str], aliases: Sequence[str]) -> str | None:
    best, best_ratio = None, 0.0
    for cand in candidates:
        key = normalise_header(cand)
        for alias in aliases:
            ratio = difflib.SequenceMatcher(None, key, normalise_header(alias)).ratio()
            if ratio > best_ratio:
                best, best_ratio = cand, ratio
    return best if best_ratio >= 0.5 else None


# --------------------------------------------------------------------------- values
_DMS = re.compile(
    r"^(?P<pre>[nsew]|东经|西经|北纬|南纬)?"
    r"(?P<sign>[-+])?"
    r"(?P<deg>\d+(?:\.\d+)?)(?:°|度|º|˚)"
    r"(?:(?P<min>\d+(?:\.\d+)?)(?:'|′|’|分))?"
    r"(?:(?P<sec>\d+(?:\.\d+)?)(?:\"|″|”|''|′′|’’|秒))?"
    r"(?P<post>[nsew]|东经|西经|北纬|南纬|东|西|南|北)?$"
)
_HEMI_SIGN = {
    "n": 1,
    "北纬": 1,
    "北": 1,
    "s": -1,
    "南纬": -1,
    "南": -1,
    "e": 1,
    "东经": 1,
    "东": 1,
    "w": -1,
    "西经": -1,
    "西": -1,
}
_HEMI_AXIS = {"n": "lat", "北纬": "lat", "北": "lat", "s": "lat", "南纬": "lat", "南": "lat"}


def parse_coordinates(
    values: pd.Series, *, axis: str
) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_]]:
    """Parse decimal degrees or degrees-minutes-seconds text.

    Accepts ``117.2085``, ``117°12'30.5"E``, ``117度12分30.5秒``, ``28°18′N``,
    ``北纬28°18′``; S/W give negative values.

    Parameters
    ----------
    values
        Cell texts.
    axis
        ``"lon"`` or ``"lat"``: a hemisphere letter for the other axis is an error.

    Returns
    -------
    tuple
        Degrees (NaN where unparsed), a mask of empty cells, a mask of unparsable cells.
    """
    text = values.astype(str).str.strip()
    empty = (text == "").to_numpy()
    number = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, copy=True)
    todo = np.isnan(number) & ~empty
    if todo.any():
        cells = text[todo].map(lambda s: re.sub(r"\s+", "", unicodedata.normalize("NFKC", s)).lower())
        parts = cells.str.extract(_DMS)
        deg = pd.to_numeric(parts["deg"], errors="coerce").to_numpy(dtype=np.float64)
        minutes = pd.to_numeric(parts["min"], errors="coerce").fillna(0.0).to_numpy(dtype=np.float64)
        seconds = pd.to_numeric(parts["sec"], errors="coerce").fillna(0.0).to_numpy(dtype=np.float64)
        pre, post = parts["pre"].fillna(""), parts["post"].fillna("")
        hemi = np.where(pre != "", pre, post)
        sign = np.where(parts["sign"].fillna("") == "-", -1.0, 1.0)
        sign = sign * np.array([_HEMI_SIGN.get(h, 1) for h in hemi], dtype=np.float64)
        wrong_axis = np.array([bool(h) and _HEMI_AXIS.get(h, "lon") != axis for h in hemi])
        valid = (
            ~np.isnan(deg) & (minutes < 60) & (seconds < 60) & ~((pre != "") & (post != "")).to_numpy() & ~wrong_axis
        )
        dms = np.where(valid, sign * (deg + minutes / 60.0 + seconds / 3600.0), np.nan)
        plain = pd.to_numeric(cells, errors="coerce").to_numpy(dtype=np.float64)  # full-width digits
        number[np.flatnonzero(todo)] = np.where(np.isnan(plain), dms, plain)
    bad = np.isnan(number) & ~empty | np.isinf(number)
    number[bad] = np.nan
    return number, empty, bad


def parse_population(values: pd.Series) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_]]:
    """Parse population counts (``1234``, ``1,234``, ``1.2万``, ``560人``).

    Returns
    -------
    tuple
        Values (NaN where unparsed), mask of empty cells, mask of non-numeric cells.
    """
    text = values.astype(str).str.strip()
    empty = (text == "").to_numpy()
    cleaned = text.str.replace(r"[,，\s人口户]", "", regex=True)
    wan = cleaned.str.endswith("万").to_numpy()
    cleaned = cleaned.str.removesuffix("万")
    number = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=np.float64, copy=True)
    with np.errstate(over="ignore"):  # 1e305万 becomes inf and is reported as not a number
        number[wan] = number[wan] * 1e4
    bad = (np.isnan(number) | np.isinf(number)) & ~empty
    number[bad] = np.nan
    return number, empty, bad


def check_coordinates(
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    *,
    rows: NDArray[np.int64],
    lon_column: str,
    lat_column: str,
    log: ProblemLog,
) -> None:
    """Report swapped columns (once) or each coordinate out of range (per row).

    Swapped means every parsed "longitude" lies in China's latitude band and every
    "latitude" in China's longitude band; then only that one problem is reported.
    """
    ok = ~np.isnan(lon) & ~np.isnan(lat)
    if ok.any():
        lo, la = lon[ok], lat[ok]
        swapped = bool(
            np.all((lo >= CHINA_LAT_BAND_DEG[0]) & (lo <= CHINA_LAT_BAND_DEG[1]))
            and np.all((la >= CHINA_LON_BAND_DEG[0]) & (la <= CHINA_LON_BAND_DEG[1]))
        )
        if swapped:
            log.add("inputs.swapped_lonlat", lon_column=lon_column, lat_column=lat_column, lon=lo[0], lat=la[0])
            return
    row_swapped = (
        ok
        & (lon >= CHINA_LAT_BAND_DEG[0])
        & (lon <= CHINA_LAT_BAND_DEG[1])
        & (lat >= CHINA_LON_BAND_DEG[0])
        & (lat <= CHINA_LON_BAND_DEG[1])
    )
    for i in np.flatnonzero(row_swapped & (np.abs(lat) > 90.0)):
        log.add("inputs.row_swapped", row=int(rows[i]), column=lat_column, lon=_fmt(lon[i]), lat=_fmt(lat[i]))
    for values, limit, column in ((lon, 180.0, lon_column), (lat, 90.0, lat_column)):
        out = np.flatnonzero(~np.isnan(values) & (np.abs(values) > limit) & ~row_swapped)
        for i in out:
            key = "inputs.coord_projected" if abs(values[i]) > PROJECTED_THRESHOLD else "inputs.coord_out_of_range"
            log.add(key, row=int(rows[i]), column=column, value=_fmt(values[i]), limit=int(limit))


def check_duplicates(ids: Sequence[str], *, rows: NDArray[np.int64], column: str, log: ProblemLog) -> None:
    """Report every repeated id with the row where it first appeared."""
    series = pd.Series(list(ids))
    dup = series.duplicated(keep="first").to_numpy()
    if not dup.any():
        return
    first_row = dict(zip(series[~dup], rows[~dup], strict=True))
    for i in np.flatnonzero(dup):
        log.add(
            "inputs.duplicate_id", row=int(rows[i]), column=column, value=series[i], first=int(first_row[series[i]])
        )


def _fmt(value: float) -> str:
    return f"{value:.10g}"
