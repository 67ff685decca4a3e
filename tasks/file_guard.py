"""What a received file really is, and whether it is safe to hand to a parser.

Everything here reads bytes under caps and never trusts what a file says about itself: the
format comes from the content, not the name; a zip member's size is counted while inflating;
XML with a DTD is refused before any parser sees it; cell references are checked against the
template's extent so that nothing far outside it (or beyond the grid) reaches calamine.
"""

from __future__ import annotations

import io
import os
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from reporting import layout as L
from tasks.zip_writing import Member, packed

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_MEMBERS = 300
MAX_MEMBER_BYTES = 40 * 1024 * 1024
MAX_TOTAL_BYTES = 120 * 1024 * 1024
# A member inflating more than this many times its compressed size is a bomb (the template's
# parts inflate under 10 times).
MAX_RATIO = 100
MAX_SHEETS = 30
# A package inflating to more than this is handed to the parser as received (the template's
# members inflate to some 80 KB).
STORED_MAX_BYTES = 8 * 1024 * 1024
# The template's extent, with room: nothing beyond it is ever read.
MAX_ROW = L.FIRST_DATA_ROW + L.MAX_TASK_ROWS + 100
MAX_COLUMN = 40
MAX_CELL_CHARS = 32767

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
STRICT_NAMESPACE = b"http://purl.oclc.org/ooxml/spreadsheetml/main"
DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
CELL = re.compile(rb"<c\b([^>]*?)(/>|>(.*?)</c>)", re.DOTALL)
ATTR_R = re.compile(rb"\br=\"([A-Z]+[0-9]+)\"")
ATTR_T = re.compile(rb"\bt=\"(\w+)\"")
VALUE = re.compile(rb"<v>(.*?)</v>", re.DOTALL)
SHEET_ENTRY = re.compile(rb"<(?:\w+:)?sheet\b[^>]*?/>")
RELATIONSHIP = re.compile(rb"<Relationship\b[^>]*?/>")


class Refused(Exception):
    """The file is not taken to a parser; `rule_id` and a Vietnamese reason say why."""

    def __init__(self, rule_id: str, message_vi: str):
        super().__init__(message_vi)
        self.rule_id, self.message_vi = rule_id, message_vi


@dataclass
class Inspection:
    """What the guard learnt about a file it lets through."""

    kind: str  # xlsx, xlsm, xls, ods
    has_macros: bool = False
    is_1904: bool = False
    # Per sheet name: cells whose formula has no saved value, and cells holding an error value.
    uncached_formulas: dict[str, list[str]] = field(default_factory=dict)
    error_values: dict[str, dict[str, str]] = field(default_factory=dict)
    # The same package with its members stored (not compressed), when every member was inflated
    # whole to exactly its declared size and checksum: the parser then reads it without
    # inflating each sheet twice more (once for its cells, once for its merged cells).
    stored: bytes | None = None


def read_guarded(path: Path) -> tuple[bytes, Inspection]:
    """The file's bytes, read once, and the guard's verdict on them (raises Refused).

    The size is checked before anything is read, so an oversized file never enters memory; the
    parser then works on the same bytes, never on the file again.
    """
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        _check_size(size)
        # Asked for its size (and a byte more), not for the cap: a read sized to the cap costs a
        # 20 MB allocation each time. A file that grew meanwhile is read on, up to the cap.
        data = handle.read(size + 1)
        if len(data) > size:
            data += handle.read(MAX_FILE_BYTES + 1 - len(data))
    return data, inspect_bytes(data)


def inspect_bytes(data: bytes) -> Inspection:
    """The guard on a file's content already in memory."""
    _check_size(len(data))
    head = data[:4096]
    if head.startswith(OLE2_MAGIC):
        return _inspect_ole2(data)
    if head.startswith(ZIP_MAGIC):
        return _inspect_zip(data)
    raise Refused("file.not_a_workbook", _not_a_workbook(head))


def _check_size(size: int) -> None:
    if size == 0:
        raise Refused("file.empty", "Tệp rỗng (0 byte). Hãy gửi lại tệp báo cáo đã lưu.")
    if size > MAX_FILE_BYTES:
        raise Refused(
            "file.too_large",
            f"Tệp quá lớn ({size // (1024 * 1024)} MB, tối đa {MAX_FILE_BYTES // (1024 * 1024)} MB). "
            "Mẫu báo cáo chỉ khoảng vài chục KB: hãy dùng đúng tệp mẫu, không chèn ảnh hay dữ liệu khác.",
        )


def _not_a_workbook(head: bytes) -> str:
    lowered = head.lstrip()[:512].lower()
    if head.startswith(b"%PDF"):
        what = "một tệp PDF"
    elif lowered.startswith((b"<!doctype html", b"<html")) or b"<html" in lowered:
        what = "một trang HTML"
    elif head.startswith(b"PK"):
        what = "một tệp nén bị hỏng"
    elif _looks_like_text(head):
        what = "một tệp văn bản (CSV hoặc TXT)"
    else:
        return (
            "Tệp này không phải bảng tính Excel (dù tên tệp có thể là .xlsx). "
            "Hãy mở tệp mẫu bằng Excel, WPS hoặc LibreOffice, nhập số liệu rồi lưu dạng .xlsx."
        )
    return (
        f"Tệp này là {what}, không phải bảng tính Excel (dù tên tệp có thể là .xlsx). "
        "Hãy mở tệp mẫu bằng Excel, WPS hoặc LibreOffice, nhập số liệu rồi lưu dạng .xlsx."
    )


def _looks_like_text(head: bytes) -> bool:
    """Whether the file starts as text: UTF-8, or a Windows code page (a CSV saved by LibreOffice or
    Excel in the system's own, 1258 for Vietnamese or 1252); a cut multi-byte letter at the end
    of the head is no binary."""
    for encoding in ("utf-8", "cp1258", "cp1252"):
        try:
            text = head.decode(encoding)
        except UnicodeDecodeError as exc:
            if encoding != "utf-8" or exc.start < len(head) - 3:
                continue
            text = head[:exc.start].decode(encoding)
        if all(c.isprintable() or c in "\r\n\t" for c in text):
            return True
    return False


def _inspect_ole2(data: bytes) -> Inspection:
    """Legacy .xls, or an encrypted OOXML package (an OLE2 container holding EncryptedPackage)."""
    if "EncryptedPackage".encode("utf-16-le") in data or "EncryptionInfo".encode("utf-16-le") in data:
        raise Refused(
            "file.encrypted",
            "Tệp được đặt mật khẩu nên không đọc được. Hãy gỡ mật khẩu: trong Excel chọn Tệp > Thông tin > "
            "Bảo vệ sổ làm việc > Mã hóa bằng mật khẩu (bản tiếng Anh: File > Info > Protect Workbook > "
            "Encrypt with Password), xóa mật khẩu rồi bấm OK; lưu lại và gửi lại.",
        )
    if not any(name.encode("utf-16-le") in data for name in ("Workbook", "Book")):
        raise Refused(
            "file.not_a_workbook",
            "Tệp này là tài liệu Office cũ nhưng không phải bảng tính Excel (có thể là tệp Word). "
            "Hãy dùng đúng tệp mẫu báo cáo.",
        )
    return Inspection(kind="xls")


def _inspect_zip(data: bytes) -> Inspection:
    handle = io.BytesIO(data)
    try:
        archive = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, OSError) as exc:
        raise Refused(
            "file.damaged",
            "Tệp bị hỏng hoặc chưa được tải về đầy đủ, không mở được. Hãy lưu lại tệp và gửi lại.",
        ) from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise _too_large(f"có {len(infos)} thành phần bên trong")
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            raise Refused(
                "file.unsafe",
                "Tệp có cấu trúc bất thường (thành phần trùng tên) nên không được mở. "
                "Hãy mở tệp mẫu gốc, nhập lại số liệu và lưu lại.",
            )
        parts = _read_members(data, handle, infos)
    if parts.get("mimetype", b"").strip() == ODS_MIMETYPE:
        return Inspection(kind="ods")
    if "xl/workbook.xml" not in parts:
        raise Refused(
            "file.not_a_workbook",
            "Tệp là một tệp nén (zip) nhưng không phải bảng tính Excel. Hãy dùng đúng tệp mẫu báo cáo.",
        )
    workbook = parts["xl/workbook.xml"]
    if STRICT_NAMESPACE in workbook:
        raise Refused(
            "file.strict_ooxml",
            "Tệp được lưu ở định dạng \"Strict Open XML Spreadsheet\". Hãy chọn Tệp > Lưu như (File > Save As), "
            "chọn kiểu \"Sổ làm việc Excel (*.xlsx)\" (\"Excel Workbook (*.xlsx)\") rồi gửi lại.",
        )
    sheets = _sheet_parts(workbook, parts.get("xl/_rels/workbook.xml.rels", b""))
    if len(sheets) > MAX_SHEETS:
        raise _too_large(f"có {len(sheets)} sheet")
    inspection = Inspection(
        kind="xlsm" if "xl/vbaProject.bin" in parts else "xlsx",
        has_macros="xl/vbaProject.bin" in parts,
        is_1904=bool(re.search(rb"date1904=\"(1|true)\"", workbook)),
    )
    if _inflated_as_declared(infos, parts):
        inspection.stored = _stored_package(infos, parts)
    outside: Refused | None = None
    within: list[str] = []
    for name, part in sheets.items():
        try:
            _check_extent(name, parts.get(part, b""))
        except Refused as exc:
            outside = outside or exc
            continue
        within.append(name)
        uncached, errors = _formula_cells(parts.get(part, b""))
        if uncached:
            inspection.uncached_formulas[name] = uncached
        if errors:
            inspection.error_values[name] = errors
    if outside is not None:
        # The sheets within the template stay readable, so that the file's own identity sheet can
        # still say whose report was refused.
        outside.package, outside.sheets_within = inspection.stored or data, within
        raise outside
    return inspection


def _inflated_as_declared(infos: list[zipfile.ZipInfo], parts: dict[str, bytes]) -> bool:
    """Whether every member is kept whole, unencrypted, with its declared size and checksum (and
    all of them small: a copy of a large package is not worth its memory)."""
    if sum(len(data) for data in parts.values()) > STORED_MAX_BYTES:
        return False
    for info in infos:
        data = parts.get(info.filename)
        if data is None or info.filename == "xl/vbaProject.bin" or info.flag_bits & 0x1 \
                or len(data) != info.file_size or zlib.crc32(data) != info.CRC:
            return False
    return True


def _stored_package(infos: list[zipfile.ZipInfo], parts: dict[str, bytes]) -> bytes:
    """The members, in their order, in a zip that stores them as they are."""
    return packed(Member(info.filename, zipfile.ZIP_STORED, info.CRC, len(parts[info.filename]), parts[info.filename])
                  for info in infos)


def _too_large(what: str) -> Refused:
    return Refused(
        "file.too_large",
        f"Tệp quá lớn hoặc bất thường ({what}). Mẫu báo cáo chỉ khoảng vài chục KB: hãy dùng đúng "
        "tệp mẫu, không chèn dữ liệu khác.",
    )


def _damaged() -> Refused:
    return Refused(
        "file.damaged",
        "Tệp bị hỏng hoặc chưa được tải về đầy đủ, không mở được. Hãy lưu lại tệp và gửi lại.",
    )


# A member inflating to at most this many bytes is inflated in one call: no size check can
# refuse it (each refuses only above 1 MB), so reading it whole decides as reading it in pieces.
ONE_CALL_BYTES = 1 << 20


def _member_start(data: bytes, info: zipfile.ZipInfo) -> int:
    """Where a member's data starts, read from its local header (not from the central directory)."""
    offset = info.header_offset
    header = data[offset:offset + 30] if offset >= 0 else b""
    if len(header) < 30 or header[:4] != ZIP_MAGIC:
        raise _damaged()
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    return offset + 30 + name_length + extra_length


def _inflate_whole(data: bytes, info: zipfile.ZipInfo, start: int, limit: int) -> bytes | None:
    """A member's bytes in one call when they really inflate to at most `limit` bytes, else None
    (the member is then read in pieces); its declared uncompressed size is never used."""
    if limit <= 0:
        return None  # zlib would read a limit of 0 as none
    if info.compress_type == zipfile.ZIP_STORED:
        return data[start:start + info.compress_size] if info.compress_size <= limit else None
    if info.compress_type != zipfile.ZIP_DEFLATED:
        raise _damaged()
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    out = inflater.decompress(memoryview(data)[start:], limit)
    if inflater.eof:
        return out
    if len(out) < limit:
        raise _damaged()  # the input ran out before the member's end
    return None


def _inflate(handle, info: zipfile.ZipInfo, start: int):
    """A member's bytes as they really inflate, whatever its headers declare about its size."""
    handle.seek(start)
    if info.compress_type == zipfile.ZIP_STORED:
        left = info.compress_size
        while left > 0 and (chunk := handle.read(min(left, 1 << 16))):
            left -= len(chunk)
            yield chunk
        return
    if info.compress_type != zipfile.ZIP_DEFLATED:
        raise _damaged()
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    while not inflater.eof:
        compressed = handle.read(1 << 14)
        if not compressed:
            raise _damaged()
        data = inflater.decompress(compressed, 1 << 16)
        yield data
        while inflater.unconsumed_tail and not inflater.eof:
            data = inflater.decompress(inflater.unconsumed_tail, 1 << 16)
            yield data


def _read_members(data: bytes, handle: io.BytesIO, infos: list[zipfile.ZipInfo]) -> dict[str, bytes]:
    """Inflate every member counting real bytes; keep the XML parts and the few others needed."""
    total = 0
    parts: dict[str, bytes] = {}
    for info in infos:
        keep = info.filename.endswith((".xml", ".rels")) or info.filename in ("mimetype", "xl/vbaProject.bin")
        try:
            start = _member_start(data, info)
            whole = _inflate_whole(data, info, start, min(ONE_CALL_BYTES, MAX_TOTAL_BYTES - total))
            if whole is None:
                whole, size = _read_in_pieces(handle, info, start, total, keep)
            else:
                size = len(whole)
        except (zlib.error, OSError, struct.error) as exc:
            raise _damaged() from exc
        total += size
        if keep:
            if info.filename == "xl/vbaProject.bin":
                whole = b""  # only its presence matters
            elif info.filename.endswith((".xml", ".rels")) and DTD.search(whole):
                raise Refused(
                    "file.unsafe",
                    "Tệp chứa khai báo XML không an toàn (DTD/ENTITY) nên không được mở. "
                    "Hãy mở tệp mẫu gốc, nhập lại số liệu và lưu lại.",
                )
            parts[info.filename] = whole
    return parts


def _read_in_pieces(
    handle: io.BytesIO, info: zipfile.ZipInfo, start: int, total: int, keep: bool
) -> tuple[bytes, int]:
    """A large member inflated piece by piece, refused as soon as it grows too large or too fast
    (its bytes are kept only when needed: the macros' are counted, never kept)."""
    chunks, size, compressed = [], 0, max(info.compress_size, 1)
    for chunk in _inflate(handle, info, start):
        size += len(chunk)
        total += len(chunk)
        if size > MAX_MEMBER_BYTES or total > MAX_TOTAL_BYTES:
            raise _too_large("dữ liệu bên trong giải nén ra quá lớn")
        if size > 1 << 20 and size > MAX_RATIO * compressed:
            raise _too_large("dữ liệu bên trong bị nén bất thường")
        if keep and info.filename != "xl/vbaProject.bin":
            chunks.append(chunk)
    return b"".join(chunks), size


def _attr(element: bytes, name: bytes) -> str | None:
    pattern = _ATTRIBUTES.get(name)
    if pattern is None:
        pattern = _ATTRIBUTES[name] = re.compile(rb"\b" + name + rb"=\"([^\"]*)\"")
    match = pattern.search(element)
    return match.group(1).decode("utf-8", "replace") if match else None


# Attribute name -> its compiled search: a handful of names, each looked for in every package.
_ATTRIBUTES: dict[bytes, re.Pattern] = {}


def _sheet_parts(workbook: bytes, rels: bytes) -> dict[str, str]:
    """Sheet name -> zip member of its worksheet XML."""
    targets = {}
    for rel in RELATIONSHIP.findall(rels):
        rel_id, target = _attr(rel, b"Id"), _attr(rel, b"Target")
        if rel_id and target:
            targets[rel_id] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    out = {}
    for entry in SHEET_ENTRY.findall(workbook):
        name, rel_id = _attr(entry, b"name"), _attr(entry, b"r:id") or _attr(entry, b"id")
        if name and rel_id in targets:
            out[_unescape(name)] = targets[rel_id]
    return out


def _unescape(text: str) -> str:
    return text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'")


def _above(limit: int, alphabet: str, bijective: bool) -> bytes:
    """A regex for the names of numbers above `limit` (> 0): longer names, or as long and greater
    at the first place they differ. Row numbers are positional (leading zeros are matched
    apart); column letters are bijective, A=1 ... Z=26, AA=27."""
    digits, n = [], limit
    while n:
        n, d = divmod(n - 1, len(alphabet)) if bijective else divmod(n, len(alphabet))
        digits.append(alphabet[d])
    name = "".join(reversed(digits))
    every = f"[{alphabet[0]}-{alphabet[-1]}]"
    lead = every if bijective else f"[{alphabet[1]}-{alphabet[-1]}]"
    options = [f"{lead}{every}{{{len(name)},}}"]
    for i, ch in enumerate(name):
        bigger = alphabet[alphabet.index(ch) + 1:]
        if bigger:
            options.append(f"{name[:i]}[{bigger[0]}-{bigger[-1]}]{every}{{{len(name) - i - 1}}}")
    return "|".join(options).encode()


_ROW_ABOVE = _above(MAX_ROW, "0123456789", bijective=False)
_COLUMN_ABOVE = _above(MAX_COLUMN, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", bijective=True)
# A reference out of the template is looked for as bare `r="..."` text, which the regex engine
# scans for at C speed; each hit is then confirmed to be a cell's (or a row's) own attribute, so a
# sheet's thousands of references never become Python objects.
CELL_OUTSIDE = re.compile(rb"r=\"((?:" + _COLUMN_ABOVE + rb")[0-9]*|[A-Z]+0*(?:" + _ROW_ABOVE + rb"))\"")
ROW_OUTSIDE = re.compile(rb"r=\"(0*(?:" + _ROW_ABOVE + rb"))\"")
# Both at once, in one scan of the sheet: group 1 is a cell's reference, group 2 a row's.
EITHER_OUTSIDE = re.compile(
    rb"r=\"(?:((?:" + _COLUMN_ABOVE + rb")[0-9]*|[A-Z]+0*(?:" + _ROW_ABOVE + rb"))|(0*(?:" + _ROW_ABOVE + rb")))\""
)
CELL_TAG = re.compile(rb"<(?:\w+:)?c\b[^>]*")
ROW_TAG = re.compile(rb"<(?:\w+:)?row\b[^>]*")
WORD = re.compile(rb"\w")


# References that are certainly inside (one-letter columns, or AA to AN; rows up to 999) are
# told apart by a lookahead that fails fast: a sheet holding only those is never scanned further.
MAYBE_OUTSIDE = re.compile(rb'r="(?![A-Z][1-9][0-9]{0,2}"|A[A-N][1-9][0-9]{0,2}"|[1-9][0-9]{0,2}")')
assert MAX_COLUMN >= 40 and MAX_ROW >= 999, "MAYBE_OUTSIDE passes over AN999 and what comes before it"


def _check_extent(sheet: str, xml: bytes) -> None:
    """No cell or row far outside the template (or beyond the grid) reaches a parser.

    A cell outside is named before a row outside, wherever each is: the scan for both stops at
    the first cell, or goes on looking for cells only after the first row."""
    for found in MAYBE_OUTSIDE.finditer(xml):
        if not WORD.match(xml, found.start() - 1):
            break  # an `r` attribute (not the end of another's name, header="...") to look at
    else:
        return
    _check_extent_exactly(sheet, xml)


def _check_extent_exactly(sheet: str, xml: bytes) -> None:
    row = None
    for found in EITHER_OUTSIDE.finditer(xml):
        is_cell = found.start(1) >= 0
        if _is_attribute_of(xml, found.start(), CELL_TAG if is_cell else ROW_TAG):
            if is_cell:
                raise _outside(sheet, found.group(1).decode())
            row = found.group(2).decode()
            if cell := _first_attribute(xml, CELL_OUTSIDE, CELL_TAG, found.end()):
                raise _outside(sheet, cell)
            break
    if row:
        raise _outside(sheet, f"dòng {row}")


def _first_attribute(xml: bytes, value: re.Pattern, tag: re.Pattern, pos: int = 0) -> str | None:
    """The first `r` attribute matching `value` from `pos` that belongs to an element matching `tag`."""
    for found in value.finditer(xml, pos):
        if _is_attribute_of(xml, found.start(), tag):
            return found.group(1).decode()
    return None


def _is_attribute_of(xml: bytes, start: int, tag: re.Pattern) -> bool:
    """Whether the attribute at `start` is an attribute of an element matching `tag`."""
    opening = xml.rfind(b"<", 0, start)
    return opening >= 0 and not WORD.match(xml, start - 1) and bool(tag.fullmatch(xml, opening, start))


def _has_formula_or_error(xml: bytes) -> bool:
    """Whether any cell may hold a formula or an error value; data validation's <formula1> and
    conditional formatting's <formula> are not cells' formulas."""
    if b't="e"' in xml:
        return True
    at = xml.find(b"<f")
    while at != -1:
        if not xml.startswith(b"<formula", at):
            return True
        at = xml.find(b"<f", at + 2)
    return False


def _outside(sheet: str, where: str) -> Refused:
    return Refused(
        "file.outside_template",
        f'Sheet "{sheet}" có dữ liệu ở {where}, ngoài vùng của mẫu báo cáo (hoặc ngoài giới hạn '
        "của Excel). Hãy xóa dữ liệu thừa ngoài bảng mẫu, lưu lại và gửi lại.",
    )


def _formula_cells(xml: bytes) -> tuple[list[str], dict[str, str]]:
    """Cells with a formula but no saved value, and cells holding an error value (#DIV/0!...)."""
    uncached, errors = [], {}
    if not _has_formula_or_error(xml):
        return uncached, errors
    for attrs, _, body in CELL.findall(xml):
        if b't="e"' not in attrs and (not body or b"<f" not in body):
            continue  # neither an error value nor a formula: most cells, decided without parsing
        ref = ATTR_R.search(attrs)
        if not ref:
            continue
        cell = ref.group(1).decode()
        kind = ATTR_T.search(attrs)
        value = VALUE.search(body or b"")
        if kind and kind.group(1) == b"e":
            errors[cell] = value.group(1).decode("utf-8", "replace") if value else "#ERROR"
        elif b"<f" in (body or b"") and (value is None or not value.group(1)):
            uncached.append(cell)
    return uncached, errors
