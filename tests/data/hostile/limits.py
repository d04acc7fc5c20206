"""Files that cost far more work than their bytes suggest (issue 14, part 3: limits on work).

Each generator writes one case into a folder (``tmp_path``) and returns its path; most
take well under a second. Tests pass small sizes just above a limit they set low
(``Limits(demand_rows=1000)``); the defaults reproduce the shapes of the hostile run:

* :func:`demand_csv`: a demand CSV of ``rows`` rows (2,000,000 in the run: 150 MB);
* :func:`wide_header_csv`: a CSV whose header has ``columns`` columns (25,000,000 in the
  run: a 50 MB header line);
* :func:`long_rows_xlsx`: a workbook whose sheet expands to ``rows`` rows, written as a
  zip stream of one repeated row (3,000,000 rows compress to about 2 MB), with or without
  the sheet's dimension;
* :func:`recursive_view_gpkg`: a GeoPackage whose point layer is a recursive view (never
  ends);
* :func:`metadata_gpkg`: a small GeoPackage with ``rows`` rows of metadata (20,000 in the
  run: GDAL reads them all when it opens the file).
"""

from __future__ import annotations

import sqlite3
import zipfile
from pathlib import Path

#: Header and one row of a demand file, as the demo county writes them.
DEMAND_HEADER = "编号,名称,人口,经度,纬度,所属乡镇,类型\n"
_ROW = "D{i},陈垅村,1800,116.0462,27.4337,茶亭镇,村\n"


def demand_csv(folder: Path, *, rows: int = 2_000_000, name: str = "demand.csv") -> Path:
    """A demand CSV of ``rows`` data rows (ids ``D1``..., one village repeated)."""
    path = folder / name
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(DEMAND_HEADER)
        f.writelines(_ROW.format(i=i) for i in range(1, rows + 1))
    return path


def wide_header_csv(folder: Path, *, columns: int = 25_000_000, name: str = "wide.csv") -> Path:
    """A CSV whose header line has ``columns`` columns (``a,a,a,...``) above one short row."""
    path = folder / name
    with path.open("w", encoding="utf-8", newline="") as f:
        chunk = 1_000_000
        for start in range(0, columns, chunk):
            f.write(",".join("a" * min(chunk, columns - start)))
            if start + chunk < columns:
                f.write(",")
        f.write("\n1,2\n")
    return path


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="xl/workbook.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
    "</Relationships>"
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="需求点" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="worksheets/sheet1.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
    "</Relationships>"
)


def _inline(texts: list[str]) -> str:
    return "".join(f'<c t="inlineStr"><is><t>{x}</t></is></c>' for x in texts)


def long_rows_xlsx(folder: Path, *, rows: int = 3_000_000, dimension: bool = True, name: str = "demand.xlsx") -> Path:
    """A workbook of one demand sheet that expands to ``rows`` data rows.

    The sheet XML is streamed into the zip as one row repeated (no row numbers, as
    openpyxl and Excel accept), so 3,000,000 rows take a few seconds to write and about
    2 MB on disk. ``dimension=False`` leaves out ``<dimension>``, so a reader cannot
    know the size before it counts the rows.
    """
    path = folder / name
    header = "<row>" + _inline(["名称", "人口", "经度", "纬度", "所属乡镇", "类型"]) + "</row>"  # ids: row numbers
    row = "<row>" + _inline(["陈垅村"]) + "<c><v>1800</v></c><c><v>116.0462</v></c><c><v>27.4337</v></c>"
    row += _inline(["茶亭镇", "村"]) + "</row>"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(b'<?xml version="1.0" encoding="UTF-8"?>')
            sheet.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
            if dimension:
                sheet.write(f'<dimension ref="A1:F{rows + 1}"/>'.encode())
            sheet.write(b"<sheetData>" + header.encode())
            block = 10_000
            chunk = (row * block).encode()
            for _ in range(rows // block):
                sheet.write(chunk)
            sheet.write((row * (rows % block)).encode())
            sheet.write(b"</sheetData></worksheet>")
    return path


def _points_gpkg(path: Path, *, layer: str = "villages") -> None:
    """A tiny GeoPackage with one point layer of demand columns (written by pyogrio)."""
    import geopandas as gpd
    import shapely

    gdf = gpd.GeoDataFrame(
        {"编号": ["D1", "D2"], "名称": ["陈垅村", "龙陂村"], "人口": [1800, 1880]},
        geometry=shapely.points([116.04, 116.29], [27.43, 27.27]),
        crs="EPSG:4326",
    )
    gdf.to_file(path, layer=layer, driver="GPKG", engine="pyogrio")


def recursive_view_gpkg(folder: Path, *, name: str = "view.gpkg") -> Path:
    """A GeoPackage whose only point layer is a recursive view: reading it never ends.

    The view counts up from 1 without a bound (``WITH RECURSIVE``), each row a copy of a
    real point; it is registered as the features layer in ``gpkg_contents`` and
    ``gpkg_geometry_columns`` in place of the table it reads.
    """
    path = folder / name
    _points_gpkg(path, layer="points")
    con = sqlite3.connect(path)
    try:
        con.executescript(
            """
            CREATE VIEW villages AS
              WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n)
              SELECT n.i AS fid, p.geom AS geom, 'D' || n.i AS 编号, p.名称 AS 名称, p.人口 AS 人口
              FROM n, (SELECT * FROM points LIMIT 1) AS p;
            UPDATE gpkg_contents SET table_name = 'villages', identifier = 'villages' WHERE table_name = 'points';
            UPDATE gpkg_geometry_columns SET table_name = 'villages' WHERE table_name = 'points';
            """
        )
        con.commit()
    finally:
        con.close()
    return path


def metadata_gpkg(folder: Path, *, rows: int = 20_000, name: str = "metadata.gpkg") -> Path:
    """A small point GeoPackage with ``rows`` rows in ``gpkg_metadata`` and ``gpkg_metadata_reference``.

    Each metadata row is a short XML document referenced from the point layer (as the
    GeoPackage metadata extension writes them); 20,000 rows make a file of about 2 MB.
    """
    path = folder / name
    _points_gpkg(path)
    con = sqlite3.connect(path)
    try:
        con.executescript(
            """
            CREATE TABLE IF NOT EXISTS gpkg_metadata (
              id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
              md_scope TEXT NOT NULL DEFAULT 'dataset',
              md_standard_uri TEXT NOT NULL,
              mime_type TEXT NOT NULL DEFAULT 'text/xml',
              metadata TEXT NOT NULL DEFAULT '');
            CREATE TABLE IF NOT EXISTS gpkg_metadata_reference (
              reference_scope TEXT NOT NULL,
              table_name TEXT,
              column_name TEXT,
              row_id_value INTEGER,
              timestamp DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
              md_file_id INTEGER NOT NULL,
              md_parent_id INTEGER);
            """
        )
        doc = "<GDALMultiDomainMetadata><Metadata><MDI key='k{i}'>{i}</MDI></Metadata></GDALMultiDomainMetadata>"
        con.executemany(
            "INSERT INTO gpkg_metadata (id, md_scope, md_standard_uri, mime_type, metadata) VALUES (?, ?, ?, ?, ?)",
            ((i, "dataset", "http://gdal.org", "text/xml", doc.format(i=i)) for i in range(1, rows + 1)),
        )
        con.executemany(
            "INSERT INTO gpkg_metadata_reference (reference_scope, table_name, md_file_id) VALUES (?, ?, ?)",
            (("table", "villages", i) for i in range(1, rows + 1)),
        )
        con.commit()
    finally:
        con.close()
    return path
