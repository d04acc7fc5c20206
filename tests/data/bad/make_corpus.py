"""Regenerate tests/data/bad/ (one realistic mistake per file) .

Run: .venv/bin/python tests/data/bad/make_corpus.py. The text files are written byte-exact
here so that encodings (GBK, broken bytes) are reproducible.
"""

from pathlib import Path

BAD = Path(__file__).parent
HEADER = "编号,名称,层级,经度,纬度,所属乡镇\n"
ROWS = [
    "S01,沂源县党群服务中心,县级,118.1702,36.1853,历山街道\n",
    "S02,南麻街道群团服务中心,乡镇,118.1551,36.1702,南麻街道\n",
    "S03,东里村群团服务站,村,118.2208,36.2011,东里镇\n",
]


def write(name: str, text: str, encoding: str = "utf-8") -> None:
    (BAD / name).write_bytes(text.encode(encoding))


def main() -> None:
    BAD.mkdir(exist_ok=True)
    write("缺少经度列.csv", "编号,名称,层级,经读,纬度\nS01,东里村群团服务站,村,118.2208,36.2011\n")
    write(
        "经纬度填反.csv",
        "编号,名称,层级,经度,纬度\nS01,东里村群团服务站,村,36.2011,118.2208\nS02,西里村群团服务站,村,36.1988,118.2051\n",
    )
    write("层级写成省级.csv", HEADER + ROWS[0] + "S02,山东省群团服务中心,省级,118.1551,36.1702,南麻街道\n" + ROWS[2])
    write("编号重复.csv", HEADER + ROWS[0] + ROWS[1] + ROWS[2].replace("S03", "S01"))
    write("空文件.csv", "")
    write("只有表头.csv", HEADER)
    (BAD / "二进制乱码.csv").write_bytes(bytes(range(256)) * 8)
    gbk = (HEADER + ROWS[0] + ROWS[1] + ROWS[2]).encode("gbk")
    cut = gbk.index("东里镇".encode("gbk"))
    (BAD / "GBK坏字节.csv").write_bytes(gbk[:cut] + b"\xd6," + gbk[cut:])  # lone lead byte on line 4
    utf8 = (HEADER + ROWS[0] + ROWS[1] + ROWS[2]).encode("utf-8")
    cut = utf8.index("南麻街道群团".encode())
    (BAD / "UTF8坏字节.csv").write_bytes(utf8[:cut] + b"\xe5\x8d" + utf8[cut + 3 :])  # a 3-byte char cut short, line 3
    write("人口为负.csv", "序号,村名,人口,经度,纬度\n1,东里村,1850,118.2213,36.2032\n2,西里村,-40,118.2051,36.1988\n")
    write("纬度写成文字.csv", HEADER + ROWS[0] + "S02,南麻街道群团服务中心,乡镇,118.1551,三十六度,南麻街道\n")
    write("坐标超出范围.csv", HEADER + ROWS[0] + "S02,南麻街道群团服务中心,乡镇,1181.551,36.1702,南麻街道\n")
    write("投影坐标.csv", HEADER + "S01,沂源县党群服务中心,县级,39515321.4,4006123.7,历山街道\n")
    write(
        "逗号未加引号.csv",
        HEADER + ROWS[0] + "S02,南麻街道群团服务中心,乡镇,118.1551,36.1702,南麻街道,法律咨询,就业服务\n",
    )
    write("人口不是数字.csv", "序号,村名,人口,经度,纬度\n1,东里村,约两千,118.2213,36.2032\n")
    write("经度为空.csv", HEADER + "S01,沂源县党群服务中心,县级,,36.1853,历山街道\n")
    write("旧版Excel.xls", "not really")
    write("站点.docx", "not really")
    (BAD / "改名的xlsx.csv").write_bytes(b"PK\x03\x04" + bytes(60))
    write("不是xlsx.xlsx", HEADER + ROWS[0])
    write("不是geojson.geojson", '{"type": "FeatureCollection", "features": [')
    write(
        "面要素.geojson",
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"名称":"东里镇","层级":"乡镇"},'
        '"geometry":{"type":"Polygon","coordinates":[[[118.2,36.2],[118.3,36.2],[118.3,36.3],[118.2,36.2]]]}}]}',
    )
    # valid but unusual: degrees-minutes-seconds in both columns
    write(
        "度分秒坐标_有效.csv",
        "编号,名称,层级,经度,纬度\n"
        "S01,东里村群团服务站,村,118°13'14.9\"E,36°12'4.0\"N\n"
        "S02,西里村群团服务站,村,118度12分18.4秒,北纬36°11′55.7″\n",
    )


if __name__ == "__main__":
    main()
