"""The guard: its searches for references outside the template, held to plain arithmetic, and the
package it hands to the parser."""

from __future__ import annotations

import io
import re
import struct
import zipfile

import pytest

from reporting.periods import Period
from tasks.file_guard import (
    MAX_COLUMN,
    MAX_ROW,
    Refused,
    _above,
    _check_extent,
    _check_extent_exactly,
    _has_formula_or_error,
    inspect_bytes,
    read_guarded,
)
from tests.workbooks import save, submission

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def column_letters(n: int) -> str:
    out = ""
    while n:
        n, d = divmod(n - 1, 26)
        out = LETTERS[d] + out
    return out


@pytest.mark.parametrize("limit", [1, 9, 26, 27, MAX_COLUMN, 52, 702, 703, 16384], ids=str)
def test_column_pattern_matches_exactly_the_columns_above(limit):
    pattern = re.compile(b"(?:" + _above(limit, LETTERS, bijective=True) + b")$")
    numbers = {*range(1, 800), *(limit + d for d in range(-30, 30) if limit + d > 0), 16384, 16385, 475254}
    wrong = [n for n in numbers if bool(pattern.match(column_letters(n).encode())) != (n > limit)]
    assert wrong == []


@pytest.mark.parametrize("limit", [1, 9, 10, 99, 100, MAX_ROW, 1048576], ids=str)
def test_row_pattern_matches_exactly_the_rows_above(limit):
    pattern = re.compile(b"0*(?:" + _above(limit, "0123456789", bijective=False) + b")$")
    numbers = {*range(0, 1200), *(limit + d for d in range(-30, 30) if limit + d >= 0), limit * 10, 10**9}
    wrong = [t for n in numbers for t in (str(n), f"00{n}") if bool(pattern.match(t.encode())) != (n > limit)]
    assert wrong == []


def outside(xml: bytes) -> str | None:
    try:
        _check_extent("Chỉ tiêu", xml)
    except Refused as exc:
        return exc.message_vi.split(" có dữ liệu ở ")[1].split(",")[0]
    return None


last_column = column_letters(MAX_COLUMN)
beyond_column = column_letters(MAX_COLUMN + 1)


@pytest.mark.parametrize("xml, named", [
    (f'<row r="{MAX_ROW}"><c r="{last_column}{MAX_ROW}" s="1"/></row>'.encode(), None),
    (f'<row r="5"><c r="A5"/><c s="2" r="{beyond_column}5"/><c r="A{MAX_ROW + 1}"/></row>'.encode(),
     f"{beyond_column}5"),
    (f'<c r="A0{MAX_ROW + 1}"/>'.encode(), f"A0{MAX_ROW + 1}"),
    (b'<x:c t="s" r="XFDA1"/>', "XFDA1"),
    (f'<row spans="1:2" r="{MAX_ROW + 1}"><c r="A1"/></row>'.encode(), f"dòng {MAX_ROW + 1}"),
    (b'<c r="A1" t="inlineStr"><is><t>r="ZZ9"</t></is></c>', None),
    (b'<c s="1" xr="ZZ9"/>', None),
], ids=["last-cell-inside", "column-beyond-first-named", "row-with-zeros", "prefixed-beyond-grid",
        "row-element", "text-that-looks-like-a-reference", "other-attribute"])
def test_extent_names_the_first_reference_outside(xml, named):
    assert outside(xml) == named


def test_the_quick_pass_over_references_inside_never_hides_one_outside():
    def named(check, xml: bytes) -> str | None:
        try:
            check("Chỉ tiêu", xml)
        except Refused as exc:
            return exc.message_vi
        return None

    columns = [column_letters(n) for n in (1, 2, 26, 27, 39, 40, 41, 52, 703, 16384, 16385)]
    rows = ["1", "9", "999", "0999", "1000", str(MAX_ROW), str(MAX_ROW + 1), "01", "0", "1048577"]
    wrong = []
    for column in columns:
        for row in rows:
            for xml in (f'<row r="{row}"><c r="{column}{row}"/></row>'.encode(), f'<c r="{column}{row}"/>'.encode(),
                        f'<row r="{row}" spans="1:2"/><c t="s" r="{column}1"/>'.encode(),
                        f'<x:c r="{column}{row}"/><pageMargins header="0.5" footer="0.5"/>'.encode()):
                if named(_check_extent, xml) != named(_check_extent_exactly, xml):
                    wrong.append(xml)
    assert wrong == []


@pytest.mark.parametrize("xml, has", [
    (b'<dataValidation><formula1>0</formula1></dataValidation><c r="A1"><v>1</v></c>', False),
    (b'<c r="A1"><f>SUM(B1:B2)</f><v>3</v></c>', True),
    (b'<c r="A1"><f t="shared" si="0"/></c>', True),
    (b'<c r="A1" t="e"><v>#DIV/0!</v></c>', True),
], ids=["validation-only", "formula", "shared-formula", "error-value"])
def test_formula_or_error_is_never_missed(xml, has):
    assert _has_formula_or_error(xml) is has


def _workbook(tmp_path):
    return save(submission("CQ003", Period(2023, 1)), tmp_path / "good.xlsx")


def test_the_parser_gets_the_same_members_stored(tmp_path):
    path = _workbook(tmp_path)
    data, inspection = read_guarded(path)
    with zipfile.ZipFile(io.BytesIO(data)) as received, zipfile.ZipFile(io.BytesIO(inspection.stored)) as stored:
        assert stored.testzip() is None
        assert [i.compress_type for i in stored.infolist()] == [zipfile.ZIP_STORED] * len(received.infolist())
        assert [(n, stored.read(n)) for n in stored.namelist()] == [(n, received.read(n)) for n in received.namelist()]


def test_a_member_not_as_declared_is_handed_to_the_parser_as_received(tmp_path):
    data = bytearray(_workbook(tmp_path).read_bytes())
    assert inspect_bytes(bytes(data)).stored is not None
    at = _central_entry(bytes(data), "xl/workbook.xml")
    # Its checksum in the central directory no longer matches its bytes.
    data[at + 16:at + 20] = struct.pack("<I", struct.unpack("<I", data[at + 16:at + 20])[0] ^ 1)
    assert inspect_bytes(bytes(data)).stored is None


def _central_entry(data: bytes, name: str) -> int:
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        length = struct.unpack("<H", data[at + 28:at + 30])[0]
        if data[at + 46:at + 46 + length] == name.encode():
            return at
        at = data.find(b"PK\x01\x02", at + 4)
    raise AssertionError(name)


@pytest.mark.parametrize("head, said", [
    (b"%PDF-1.4 ...", "Tệp này là một tệp PDF, không phải bảng tính Excel"),
    ("Mã,Giá trị\n".encode(), "Tệp này là một tệp văn bản (CSV hoặc TXT), không phải bảng tính Excel"),
    # A CSV saved in Latin-1 (as LibreOffice writes one) is neither UTF-8 text nor anything known.
    (b"\xe9t\xe9,1,2\n\x00\x01", "Tệp này không phải bảng tính Excel (dù tên tệp có thể là .xlsx)."),
], ids=["pdf", "utf8-text", "unknown-bytes"])
def test_a_file_that_is_not_a_workbook_is_named_in_plain_vietnamese(head, said):
    with pytest.raises(Refused) as refused:
        inspect_bytes(head)
    assert refused.value.message_vi.startswith(said), refused.value.message_vi
    assert "là không phải" not in refused.value.message_vi
