"""Whatever a unit sends, one file never stops the quarter: hostile, broken and odd files,
generated here, are refused or read exactly as they should be, within bounded memory."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import unicodedata
import zipfile
from pathlib import Path

import pytest
from msoffcrypto.format.ooxml import OOXMLFile
from openpyxl.utils.datetime import CALENDAR_MAC_1904
from prefect.artifacts import Artifact

from expectations.gate import check_batch
from flows.collect import collect_quarter
from reporting import layout as L
from reporting.periods import LOCAL_TZ, Period
from tasks.workbook_reader import read_workbooks
from tests.workbooks import PROGRAMME, REGISTRY, save, submission

Q1 = Period(2023, 1)
TASK = ("NV01", "Học tập nghị quyết", "ctr135", "completed", dt.date(2023, 2, 1))
INDICATORS_PART = "xl/worksheets/sheet3.xml"  # the template's "Chỉ tiêu" sheet
# Generous: the parsing process imports pandas; a bomb that reached the parser would need GBs.
MEMORY_BOUND_MB = 700


def _good(path: Path, unit: str = "CQ003", **kwargs) -> Path:
    return save(submission(unit, Q1, tasks=[TASK], **kwargs), path)


def _rewrite(src: Path, dst: Path, change=None, extra: dict[str, bytes] | None = None) -> Path:
    """Copy a workbook's zip, changing members with change(name, data) -> data."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            zout.writestr(info.filename, change(info.filename, data) if change else data)
        for name, data in (extra or {}).items():
            zout.writestr(name, data)
    return dst


def _bomb(src: Path, dst: Path, lying: bool) -> Path:
    """A workbook whose indicator sheet inflates to 300 MB of zeros (2 MB compressed or so)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename == INDICATORS_PART:
                with zout.open(INDICATORS_PART, "w", force_zip64=True) as member:
                    block = b"0" * (1 << 20)
                    for _ in range(300):
                        member.write(block)
            else:
                zout.writestr(info.filename, zin.read(info.filename))
    if lying:
        # Patch the declared uncompressed size (local header and central directory) to 1 KB.
        data = bytearray(dst.read_bytes())
        name = INDICATORS_PART.encode()
        for match in re.finditer(re.escape(name), bytes(data)):
            start = match.start()
            if data[start - 30:start - 26] == b"PK\x03\x04":
                data[start - 8:start - 4] = (1024).to_bytes(4, "little")
            elif data[start - 46:start - 42] == b"PK\x01\x02":
                data[start - 22:start - 18] = (1024).to_bytes(4, "little")
        dst.write_bytes(bytes(data))
    return dst


def _insert_cell(xml: bytes, cell: str) -> bytes:
    row = re.sub(r"[A-Z]", "", cell)
    return xml.replace(b"</sheetData>", f'<row r="{row}"><c r="{cell}"><v>1</v></c></row></sheetData>'.encode())


def _hidden_first_sheet(path: Path) -> Path:
    wb = submission("CQ003", Q1, tasks=[TASK])
    decoy = wb.create_sheet("Bản nháp", 0)
    decoy["A1"] = "không phải báo cáo"
    decoy.sheet_state = "hidden"
    return save(wb, path)


def _formula_cell(path: Path, formula: str) -> Path:
    wb = submission("CQ003", Q1, tasks=[TASK])
    wb[L.SHEET_INDICATORS]["E10"] = formula
    return save(wb, path)


def _error_value(src: Path, dst: Path) -> Path:
    """A cached #DIV/0! in E10, as Excel saves a failing formula."""
    def change(name, data):
        if name != INDICATORS_PART:
            return data
        return re.sub(
            rb'<c r="E10"([^>]*?)(?:/>|>.*?</c>)',
            lambda m: b'<c r="E10"' + re.sub(rb'\st="\w+"', b"", m.group(1)) + b' t="e"><f>1/0</f><v>#DIV/0!</v></c>',
            data, flags=re.S,
        )
    return _rewrite(src, dst, change)


def _encrypted(src: Path, dst: Path) -> Path:
    out = io.BytesIO()
    with src.open("rb") as handle:
        OOXMLFile(handle).encrypt("matkhau", out)
    dst.write_bytes(out.getvalue())
    return dst


def _macro(src: Path, dst: Path) -> Path:
    def change(name, data):
        if name == "[Content_Types].xml":
            return data.replace(b"</Types>", b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>')
        return data
    return _rewrite(src, dst, change, {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0" + b"Attribute VB_Name = \"Module1\"\nShell \"calc.exe\"" * 10})


def _with_dtd(src: Path, dst: Path, dtd: bytes) -> Path:
    def change(name, data):
        if name == "xl/workbook.xml":
            return data.replace(b"<workbook", dtd + b"<workbook", 1)
        return data
    return _rewrite(src, dst, change)


BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + b"".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'.encode() for i in range(1, 10))
                  + b"]>")
EXTERNAL_ENTITY = b'<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def build_cases(tmp: Path) -> dict[str, tuple[Path, str, set]]:
    """id -> (file, expected status, expected rule ids)."""
    good = _good(tmp / "good.xlsx")
    sources = tmp / "sources"  # intermediate files, not cases (and not collected: a subfolder)
    sources.mkdir(exist_ok=True)
    cases = {
        "good": (good, "accepted", set()),
        "zip-bomb-true-header": (_bomb(good, tmp / "bomb.xlsx", lying=False), "rejected", {"file.too_large"}),
        "zip-bomb-lying-header": (_bomb(good, tmp / "bomb-lying.xlsx", lying=True), "rejected", {"file.too_large"}),
        "cell-at-XFD1048576": (_rewrite(good, tmp / "xfd.xlsx", lambda n, d: _insert_cell(d, "XFD1048576") if n == INDICATORS_PART else d),
                               "rejected", {"file.outside_template"}),
        "cell-beyond-grid": (_rewrite(good, tmp / "beyond.xlsx", lambda n, d: _insert_cell(d, "XFE1048577") if n == INDICATORS_PART else d),
                             "rejected", {"file.outside_template"}),
        "row-1048576": (_rewrite(good, tmp / "lastrow.xlsx", lambda n, d: _insert_cell(d, "A1048576") if n == INDICATORS_PART else d),
                        "rejected", {"file.outside_template"}),
        "billion-laughs": (_with_dtd(good, tmp / "laughs.xlsx", BILLION_LAUGHS), "rejected", {"file.unsafe"}),
        "external-entity": (_with_dtd(good, tmp / "xxe.xlsx", EXTERNAL_ENTITY), "rejected", {"file.unsafe"}),
        "truncated-zip": (_truncated(good, tmp / "truncated.xlsx"), "rejected", {"file.damaged"}),
        "pdf-renamed": (_bytes(tmp / "pdf.xlsx", b"%PDF-1.7\n1 0 obj <<>> endobj\n"), "rejected", {"file.not_a_workbook"}),
        "csv-renamed": (_bytes(tmp / "csv.xlsx", "Mã đơn vị;Doanh thu\nDN001;1.234,5\n".encode()), "rejected", {"file.not_a_workbook"}),
        "csv-code-page": (_bytes(tmp / "csv1252.xlsx", "Mã đơn vị;Doanh thu\nDN001;1.234,5\n".encode("cp1252", errors="replace")),
                          "rejected", {"file.not_a_workbook"}),
        "html-renamed": (_bytes(tmp / "html.xlsx", b"<!DOCTYPE html><html><body><table><tr><td>1</td></tr></table></body></html>"),
                         "rejected", {"file.not_a_workbook"}),
        "empty": (_bytes(tmp / "empty.xlsx", b""), "rejected", {"file.empty"}),
        "encrypted": (_encrypted(good, tmp / "encrypted.xlsx"), "rejected", {"file.encrypted"}),
        "macro-workbook": (_macro(good, tmp / "macro.xlsm"), "accepted_with_warnings", {"file.macros_ignored"}),
        "hidden-first-sheet": (_hidden_first_sheet(tmp / "hidden.xlsx"), "accepted", set()),
        "nfd-text": (_good(tmp / "nfd.xlsx", info={"unit_name": unicodedata.normalize("NFD", "Đảng bộ Sở Tài chính")}),
                     "accepted", set()),
        "tcvn3-text": (_good(tmp / "tcvn3.xlsx", cells={(L.SHEET_TASKS, "C5"): "Häc tËp nghÞ quyÕt §¶ng bé"}),
                       "rejected", {"text.legacy_encoding"}),
        "tcvn3-short-text": (_good(tmp / "tcvn3-short.xlsx", cells={(L.SHEET_TASKS, "C5"): "TriÓn khai NghÞ quyÕt"}),
                             "rejected", {"text.legacy_encoding"}),
        "eth-for-d-with-stroke": (_good(tmp / "eth.xlsx", cells={(L.SHEET_TASKS, "E5"): "\u00d0ã hoàn thành"}),
                                  "accepted", set()),
        "vni-text": (_good(tmp / "vni.xlsx", cells={(L.SHEET_TASKS, "C5"): "Hoïc taäp nghò quyeát Ñaûng boä"}),
                     "rejected", {"text.legacy_encoding"}),
        "control-character": (_good(tmp / "control.xlsx", cells={(L.SHEET_TASKS, "C5"): "Học tập _x0007_ nghị quyết"}),
                              "rejected", {"cell.control_character"}),
        "number-as-vietnamese-text": (_good(tmp / "numtext.xlsx", cells={(L.SHEET_INDICATORS, "E10"): "1.234", (L.SHEET_INDICATORS, "F10"): " 1.234 "}),
                                      "accepted", set()),
        "formula-without-value": (_formula_cell(tmp / "formula.xlsx", "=1+1"), "rejected", {"cell.formula_not_calculated"}),
        "formula-cached-error": (_error_value(good, tmp / "error.xlsx"), "rejected", {"cell.error_value"}),
        "date-as-serial": (_good(tmp / "serial.xlsx", cells={(L.SHEET_TASKS, "F5"): 44958}), "accepted", set()),
        "date-serial-1904": (_date1904(tmp / "s1904.xlsx", cells={(L.SHEET_TASKS, "F5"): 43496}), "accepted", set()),
        "cell-over-32767-chars": (_long_cell(_good(sources / "long.xlsx", cells={(L.SHEET_TASKS, "C5"): "x" * 32767}), tmp / "long.xlsx"),
                                  "rejected", {"cell.too_long"}),
    }
    return cases


def _date1904(path: Path, **kwargs) -> Path:
    """The workbook saved in the 1904 date system (Excel for Mac's old default): its dates, the
    template's deadline included, are serials counted from 1904."""
    wb = submission("CQ003", Q1, tasks=[TASK], **kwargs)
    wb.epoch = CALENDAR_MAC_1904
    return save(wb, path)


def _long_cell(src: Path, dst: Path) -> Path:
    """A cell longer than Excel allows (openpyxl cuts at 32,767; another program may not)."""
    return _rewrite(src, dst, lambda n, d: d.replace(b"x" * 32767, b"x" * 40000) if n.startswith("xl/worksheets/") else d)


def _truncated(src: Path, dst: Path) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) // 2])
    return dst


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    cases = build_cases(tmp)
    parsed = read_workbooks([(case, path) for case, (path, _, _) in cases.items()], workers=2)
    checked = check_batch(parsed, list(cases), PROGRAMME, REGISTRY, Q1)
    return cases, parsed, checked


CASE_IDS = [
    "good", "zip-bomb-true-header", "zip-bomb-lying-header", "cell-at-XFD1048576", "cell-beyond-grid",
    "row-1048576", "billion-laughs", "external-entity", "truncated-zip", "pdf-renamed", "csv-renamed", "csv-code-page",
    "html-renamed", "empty", "encrypted", "macro-workbook", "hidden-first-sheet", "nfd-text", "tcvn3-text",
    "tcvn3-short-text", "eth-for-d-with-stroke",
    "vni-text", "control-character", "number-as-vietnamese-text", "formula-without-value",
    "formula-cached-error", "date-as-serial", "date-serial-1904", "cell-over-32767-chars",
]


@pytest.mark.parametrize("case", CASE_IDS, ids=CASE_IDS)
def test_each_file_is_refused_or_read_exactly(hostile, case):
    cases, _, checked = hostile
    _, status, rules = cases[case]
    assert {f.rule_id for f in checked.findings if f.submission_id == case} == rules
    assert checked.status[case] == status


def test_parsing_stays_within_bounded_memory(hostile):
    _, parsed, _ = hostile
    assert 0 < parsed.peak_memory_mb < MEMORY_BOUND_MB


def test_refusals_say_why_in_vietnamese_without_paths(hostile):
    cases, _, checked = hostile
    by_rule = {f.rule_id: f.message_vi for f in checked.findings}
    assert "mật khẩu" in by_rule["file.encrypted"]
    assert "Tệp > Thông tin > Bảo vệ sổ làm việc" in by_rule["file.encrypted"], "the menu as a Vietnamese Excel names it"
    assert "PDF" in next(f.message_vi for f in checked.findings if f.submission_id == "pdf-renamed")
    for case in ("csv-renamed", "csv-code-page"):
        assert "một tệp văn bản (CSV hoặc TXT)" in next(f.message_vi for f in checked.findings if f.submission_id == case)
    assert "XFD1048576" in next(f.message_vi for f in checked.findings if f.submission_id == "cell-at-XFD1048576")
    assert "TCVN3" in next(f.message_vi for f in checked.findings if f.submission_id == "tcvn3-text")
    assert "#DIV/0!" in by_rule["cell.error_value"]
    for f in checked.findings:
        assert "/tmp" not in f.message_vi and "Traceback" not in f.message_vi


@pytest.mark.parametrize("case", ["cell-at-XFD1048576", "row-1048576"])
def test_a_file_refused_for_data_outside_the_template_is_still_its_units(hostile, case):
    """Its identity sheet is intact: the refusal is recorded under the unit that sent it, not as a
    file of no unit (the unit would read "chưa nộp" beside a file it sent)."""
    _, parsed, _ = hostile
    assert parsed.attributed[case] == "CQ003"
    assert "truncated-zip" not in parsed.attributed and "zip-bomb-true-header" not in parsed.attributed


def test_values_typed_the_clerks_way_are_read(hostile):
    _, _, checked = hostile
    tasks = checked.task_facts.set_index("submission_id")
    assert tasks.loc["date-as-serial", "completed_on"] == dt.date(2023, 2, 1)
    assert tasks.loc["eth-for-d-with-stroke", "status_code"] == "completed", "Ð read as the Đ it looks like"
    assert tasks.loc["date-serial-1904", "completed_on"] == dt.date(2023, 2, 1)
    hidden = checked.indicator_facts[checked.indicator_facts["submission_id"] == "hidden-first-sheet"]
    assert len(hidden) == len(PROGRAMME.indicators_for("agencies"))


def _ods_asking_for_90_million_cells(path: Path) -> Path:
    """An ODS of 1 KB whose repeated rows make calamine allocate gigabytes and abort natively."""
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        "<office:body><office:spreadsheet>"
        + "".join(
            f'<table:table table:name="{name}"><table:table-row table:number-rows-repeated="{rows}">'
            '<table:table-cell table:number-columns-repeated="1000" office:value-type="float" office:value="1">'
            "<text:p>1</text:p></table:table-cell></table:table-row></table:table>"
            for name, rows in zip(L.REQUIRED_SHEETS, (90000, 1, 1))
        )
        + "</office:spreadsheet></office:body></office:document-content>"
    )
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/manifest.xml", MANIFEST)
        z.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return path


MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
    'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
    '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
)


def test_a_parser_that_dies_costs_only_its_file(tmp_path, monkeypatch):
    monkeypatch.setenv("P135_PARSE_MEMORY_MB", "1024")
    good = _good(tmp_path / "good.xlsx")
    bomb = _ods_asking_for_90_million_cells(tmp_path / "bomb.ods")

    parsed = read_workbooks([("good", good), ("bomb", bomb), ("good-too", _good(tmp_path / "b.xlsx", unit="DN001"))], workers=2)

    assert [(f.submission_id, f.rule_id) for f in parsed.problems] == [("bomb", "file.parser_crashed")]
    assert sorted(parsed.info["submission_id"]) == ["good", "good-too"]


def test_a_collect_with_hostile_files_completes_and_loads_the_good_one(warehouse):
    inbox = warehouse.data_dir / "inbox" / Q1.key
    inbox.mkdir(parents=True)
    cases = build_cases(inbox)
    for path, _, _ in cases.values():
        stamp = dt.datetime(2023, 4, 5, 9, tzinfo=LOCAL_TZ).timestamp()
        __import__("os").utime(path, (stamp, stamp))

    state = collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir), return_state=True)

    assert state.is_completed()
    summary = state.result()
    assert summary["rejected"] == sum(1 for _, status, _ in cases.values() if status == "rejected")
    artifact = Artifact.get("collect-2023-q1")
    rows = artifact.data if isinstance(artifact.data, list) else json.loads(artifact.data)
    assert sum(1 for r in rows if r["Kết quả"] == "Từ chối") == summary["rejected"]
    for status in ("accepted", "accepted_with_warnings"):
        assert summary[status] == sum(1 for _, expected, _ in cases.values() if expected == status)
    with warehouse.engine.connect() as conn:
        from sqlalchemy import text

        archived = conn.execute(text("SELECT COUNT(*) FROM received_file")).scalar_one()
    # Identical contents are one archived file: good.xlsx and the NFD / hidden variants differ.
    assert archived == len({p.read_bytes() for p, _, _ in cases.values()})
