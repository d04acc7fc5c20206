"""Zipped shapefiles: check the archive, extract one shapefile set, find its text encoding.

Road networks and point layers often come from Chinese GIS software (ArcGIS, SuperMap,
MapGIS) as a ``.zip`` holding a shapefile set: ``.shp``, ``.shx``, ``.dbf`` and an
optional ``.prj`` (the coordinate reference system) and ``.cpg`` (the ``.dbf`` text
encoding). :func:`open_shapefile_zip` checks the archive from its central directory
before anything is extracted (total uncompressed size, number of members, compression
ratio, member paths, no archive inside), extracts the one ``.shp`` set it needs into a
temporary folder under fixed names, and yields a :class:`Shapefile` to read with pyogrio;
the folder is removed when the ``with`` block ends.

The ``.dbf`` encoding comes from the ``.cpg`` when there is one (``GBK``, ``936`` and
``UTF-8`` are the usual values). Without one, the field names and records are tried as
UTF-8 and, when they are not valid UTF-8, as GBK/GB18030: the same choice as for CSV text
(:func:`planner.inputs._validate.utf8_or_gb18030`).

Member names stored without the zip's UTF-8 flag (Windows tools write them in the
system code page, GBK in China) are decoded as UTF-8 or else GBK, so a member named
``道路.shp`` shows as written in messages.
"""

from __future__ import annotations

import codecs
import logging
import re
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from planner._errors import InputError, PlannerError
from planner.inputs._validate import utf8_or_gb18030

logger = logging.getLogger(__name__)

#: Largest total of the uncompressed sizes of an archive's members (bytes), read from the
#: central directory before anything is extracted.
MAX_ZIP_UNCOMPRESSED_BYTES: int = 1 << 30
#: Most members (files and folders) an archive may hold.
MAX_ZIP_MEMBERS: int = 100
#: Largest uncompressed / compressed size of one member of at least
#: :data:`ZIP_RATIO_MIN_BYTES`. Deflating zeros reaches about 1030 (bzip2 and LZMA far
#: more); a ``.dbf`` whose records are ten nearly empty 254-character text fields reaches
#: about 250, ordinary shapefile parts a few tens.
MAX_ZIP_RATIO: float = 500.0
#: Members smaller than this (uncompressed bytes) are not checked for their ratio.
ZIP_RATIO_MIN_BYTES: int = 1 << 20
#: Parts of a shapefile set that are extracted; the first three are required.
SHAPEFILE_PARTS: tuple[str, ...] = (".shp", ".shx", ".dbf", ".prj", ".cpg")
REQUIRED_PARTS: tuple[str, ...] = (".shp", ".shx", ".dbf")
#: Member suffixes refused as an archive inside the archive.
ARCHIVE_SUFFIXES: tuple[str, ...] = (".zip", ".7z", ".rar", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".kmz", ".jar")
#: ``.cpg`` values (upper case, no spaces) that name the GBK family; read as GB18030, its superset.
_GBK_CPG = frozenset({"936", "CP936", "GBK", "GB2312", "GB18030", "ANSI936", "CHINESE"})
_UTF8_CPG = frozenset({"UTF-8", "UTF8", "65001", "CP65001"})
_CHUNK_BYTES = 1 << 20
#: Records sampled at once when guessing the ``.dbf`` encoding (the first chunk with non-ASCII bytes decides).
_SAMPLE_BYTES = 4 << 20


@dataclass(frozen=True)
class Shapefile:
    """One shapefile set extracted from an archive (valid inside :func:`open_shapefile_zip`'s ``with``)."""

    #: The extracted ``.shp`` (its parts beside it, under the same stem).
    path: Path
    #: The ``.shp`` member's name in the archive, as written.
    member: str
    #: ``"archive [member]"``, for messages.
    file: str
    #: Python codec of the ``.dbf`` text (``"utf-8-sig"``, ``"gb18030"``...).
    encoding: str
    #: Whether the set has a ``.prj`` (coordinate reference system).
    has_prj: bool


def member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as written: names without the UTF-8 flag are decoded as UTF-8, else GBK.

    Python reads such names as CP437; Chinese Windows tools write them in GBK.
    """
    name = info.filename
    if info.flag_bits & 0x800:
        return name
    try:
        raw = name.encode("cp437")
    except UnicodeEncodeError:
        return name
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return name


def _unsafe(name: str, info: zipfile.ZipInfo) -> bool:
    """A member path that points outside the folder it is extracted to, or a link."""
    path = name.replace("\\", "/")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        return True
    if ".." in PurePosixPath(path).parts:
        return True
    return stat.S_ISLNK(info.external_attr >> 16)


def _ignored(name: str) -> bool:
    """Whether a member is one of the ``__MACOSX/`` copies and ``._`` resource forks macOS adds."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return "__MACOSX" in parts or (bool(parts) and parts[-1].startswith("._"))


def _checked_members(
    zf: zipfile.ZipFile, *, file: str, error: type[PlannerError]
) -> dict[str, dict[str, zipfile.ZipInfo]]:
    """Check the central directory; return the shapefile sets by ``.shp`` member name → {part suffix: member}."""
    infos = zf.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise error("inputs.zip.too_many_members", file=file, found=len(infos), limit=MAX_ZIP_MEMBERS)
    total = sum(i.file_size for i in infos)
    if total > MAX_ZIP_UNCOMPRESSED_BYTES:
        raise error(
            "inputs.zip.too_large",
            file=file,
            size_mb=round(total / 2**20, 1),
            limit_mb=round(MAX_ZIP_UNCOMPRESSED_BYTES / 2**20, 1),
        )
    stems: dict[str, dict[str, tuple[str, zipfile.ZipInfo]]] = {}
    for info in infos:
        name = member_name(info)
        if _unsafe(name, info):
            raise error("inputs.zip.unsafe_path", file=file, member=name)
        if info.is_dir() or _ignored(name):
            continue
        if info.file_size >= ZIP_RATIO_MIN_BYTES and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
            raise error(
                "inputs.zip.ratio",
                file=file,
                member=name,
                ratio=round(info.file_size / max(info.compress_size, 1)),
                limit=round(MAX_ZIP_RATIO),
            )
        lower = name.lower()
        if lower.endswith(ARCHIVE_SUFFIXES):
            raise error("inputs.zip.nested_archive", file=file, member=name)
        suffix = PurePosixPath(lower).suffix
        if suffix in SHAPEFILE_PARTS:
            stems.setdefault(name[: -len(suffix)].lower(), {})[suffix] = (name, info)
    return {
        parts[".shp"][0]: {suffix: info for suffix, (_, info) in parts.items()}
        for parts in stems.values()
        if ".shp" in parts
    }


def shapefile_members(path: str | Path, *, error: type[PlannerError] = InputError) -> list[str]:
    """The ``.shp`` members of a zipped shapefile archive, in archive order, after its archive checks.

    Raises
    ------
    PlannerError
        ``error`` (default :class:`~planner._errors.InputError`) for an archive that cannot
        be read or fails a check of :func:`open_shapefile_zip`.
    """
    file = str(path)
    with _open_zip(Path(path), file=file, error=error) as zf:
        return list(_checked_members(zf, file=file, error=error))


@contextmanager
def _open_zip(path: Path, *, file: str, error: type[PlannerError]) -> Iterator[zipfile.ZipFile]:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise error(
            "inputs.zip.unreadable", file=file, member="-", reason=f"{type(exc).__name__}: {exc}"[:200]
        ) from None
    with zf:
        yield zf


def _choose(
    sets: dict[str, dict[str, zipfile.ZipInfo]], member: str | int | None, *, file: str, error: type[PlannerError]
) -> str:
    names = list(sets)
    if not names:
        raise error("inputs.zip.no_shapefile", file=file)
    if member is None:
        if len(names) > 1:
            raise error("inputs.zip.several_shapefiles", file=file, members="、".join(names))
        return names[0]
    if isinstance(member, int):
        if 0 <= member < len(names):
            return names[member]
        raise error("inputs.zip.no_such_member", file=file, member=str(member), members="、".join(names))
    wanted = member.replace("\\", "/").lower()
    for name in names:
        low = name.replace("\\", "/").lower()
        if wanted in (low, low[: -len(".shp")], PurePosixPath(low).name, PurePosixPath(low).stem):
            return name
    raise error("inputs.zip.no_such_member", file=file, member=member, members="、".join(names))


def _extract(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, *, file: str, name: str, error: type[PlannerError]
) -> None:
    """Copy one member in chunks; never more than its declared size (zipfile stops there and checks the CRC)."""
    if info.flag_bits & 0x1:
        raise error("inputs.zip.encrypted", file=file, member=name)
    written = 0
    try:
        with zf.open(info) as src, target.open("wb") as dst:
            while chunk := src.read(_CHUNK_BYTES):
                if written == 0 and chunk.startswith(b"PK\x03\x04"):
                    raise error("inputs.zip.nested_archive", file=file, member=name)
                written += len(chunk)
                if written > info.file_size:  # cannot happen with zipfile's own bound; kept as the contract
                    raise error("inputs.zip.unreadable", file=file, member=name, reason="size differs from directory")
                dst.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise error(
            "inputs.zip.unreadable", file=file, member=name, reason=f"{type(exc).__name__}: {exc}"[:200]
        ) from None


def _cpg_encoding(raw: bytes, *, file: str, member: str) -> str | None:
    """Python codec named by a ``.cpg`` (None when it names none Python knows)."""
    text = raw.decode("ascii", errors="replace").strip().upper().replace(" ", "")
    if text.startswith("ANSI"):
        text = text[len("ANSI") :]
    if text in _GBK_CPG:
        return "gb18030"
    if text in _UTF8_CPG:
        return "utf-8"
    candidates = [f"cp{text}"] if text.isdigit() else [text, text.replace("88591", "8859-1")]
    for candidate in candidates:
        try:
            return codecs.lookup(candidate).name
        except LookupError:
            continue
    logger.warning("%s [%s]: unknown code page %r in the .cpg; guessing UTF-8 or GBK", file, member, text)
    return None


def _dbf_encoding(dbf: Path, *, file: str, member: str, error: type[PlannerError]) -> str:
    """UTF-8 or GBK/GB18030 for a ``.dbf`` without ``.cpg``, from its field names and first non-ASCII records."""
    with dbf.open("rb") as fh:
        head = fh.read(32)
        if len(head) < 32:
            raise error("inputs.zip.unreadable", file=file, member=member, reason=".dbf header too short")
        header_len = int.from_bytes(head[8:10], "little")
        record_len = max(int.from_bytes(head[10:12], "little"), 1)
        fields = fh.read(max(header_len - 32, 0))
        names = b"\n".join(fields[i : i + 11].split(b"\x00", 1)[0] for i in range(0, len(fields) - 31, 32))
        step = max(_SAMPLE_BYTES // record_len, 1) * record_len
        first_record = 0
        sample = fh.read(step)
        while sample and sample.isascii():
            first_record += len(sample) // record_len
            sample = fh.read(step)
    text, encoding, bad_at = utf8_or_gb18030(names + b"\n" + sample)
    if text is None:
        record = first_record + max(bad_at - len(names) - 1, 0) // record_len + 1
        raise error("inputs.zip.bad_encoding", file=file, member=member, encoding=encoding, record=record)
    return "utf-8" if encoding == "utf-8-sig" else encoding


@contextmanager
def open_shapefile_zip(
    path: str | Path,
    *,
    member: str | int | None = None,
    error: type[PlannerError] = InputError,
) -> Iterator[Shapefile]:
    """Check a zipped shapefile archive and extract one ``.shp`` set for reading.

    Parameters
    ----------
    path
        The ``.zip``.
    member
        The ``.shp`` set to read when the archive holds several: its member name (with or
        without folder and ``.shp``) or its index in archive order. Default: the only one.
    error
        The error class raised (:class:`~planner._errors.InputError` for tables,
        :class:`~planner._errors.NetworkError` for roads); the message keys are the same.

    Yields
    ------
    Shapefile
        The extracted set, its member name, the ``.dbf`` encoding and whether it has a
        ``.prj``. The temporary folder is removed when the ``with`` block ends.

    Raises
    ------
    PlannerError
        ``error``, before anything is extracted, for an archive that is not a zip, has
        more than :data:`MAX_ZIP_MEMBERS` members, more than
        :data:`MAX_ZIP_UNCOMPRESSED_BYTES` uncompressed, a member compressed more than
        :data:`MAX_ZIP_RATIO` times, a member path outside the archive (absolute, ``..``,
        a drive letter, a link), an archive inside, no ``.shp``, several without
        ``member``, or a ``.shp`` without its ``.shx`` or ``.dbf``; and while extracting,
        for an encrypted or damaged member, or ``.dbf`` text that is neither UTF-8 nor GBK.
    """
    zip_path = Path(path)
    file = str(path)
    with _open_zip(zip_path, file=file, error=error) as zf:
        sets = _checked_members(zf, file=file, error=error)
        shp = _choose(sets, member, file=file, error=error)
        for required in REQUIRED_PARTS:
            if required not in sets[shp]:
                raise error("inputs.zip.missing_part", file=file, member=shp, part=required)
        shown = f"{file} [{shp}]"
        with tempfile.TemporaryDirectory(prefix="planner-shpzip-") as tmp:
            folder = Path(tmp)
            for suffix, info in sets[shp].items():
                _extract(zf, info, folder / f"layer{suffix}", file=file, name=member_name(info), error=error)
            cpg = folder / "layer.cpg"
            encoding = _cpg_encoding(cpg.read_bytes(), file=file, member=shp) if cpg.exists() else None
            if encoding is None:
                encoding = _dbf_encoding(folder / "layer.dbf", file=file, member=shp, error=error)
            logger.info("%s: reading %s, .dbf text as %s", file, shp, encoding)
            yield Shapefile(
                path=folder / "layer.shp",
                member=shp,
                file=shown,
                encoding=encoding,
                has_prj=(folder / "layer.prj").exists(),
            )
