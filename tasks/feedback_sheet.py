"""The feedback workbook's one sheet, serialised without xlsxwriter's per-workbook machinery.

`_fill` (tasks/feedback_writer.py) makes the same calls on a `SheetBook` as on an xlsxwriter
Workbook; this module records them as xlsxwriter would (a later write replaces a cell, a blank
without a format is not stored, strings are shared in the order written) and writes the sheet and
its shared strings as the XML xlsxwriter writes. Every other part of the package (styles, theme,
workbook, properties) is the same for every workbook whose cells use the same formats in the same
order: it is taken from one workbook xlsxwriter wrote in this process, the first of its kind, and
that workbook is also written here and compared byte for byte, so a difference is never shipped:
a kind that does not match, or text this writer does not handle as xlsxwriter would (very long
text, text that looks like xlsxwriter's rich-string markup, a logical value), is left to xlsxwriter.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import struct
import zipfile
import zlib
from typing import Callable

from xlsxwriter.utility import xl_col_to_name

from tasks.zip_writing import END, Member, packed

# As xlsxwriter escapes shared strings (xlsxwriter/xmlwriter.py, sharedstrings.py).
_ESCAPED_ESCAPE = re.compile("(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
_EDGE_SPACE = re.compile(r"^\s|\s$")
# Longer text is cut by xlsxwriter by its UTF-16 length; such a workbook is left to xlsxwriter.
_PLAIN_UP_TO = 16383
_SHEET_DATA = re.compile(r"<dimension ref=\"[^\"]*\"/>")
_COUNTS = re.compile(r'count="\d+" uniqueCount="\d+"')
_MOMENT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
SHEET_PART, STRINGS_PART, CORE_PART = "xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "docProps/core.xml"


class Unsupported(Exception):
    """A write this writer does not reproduce exactly; the workbook is left to xlsxwriter."""


class SheetBook:
    """The subset of xlsxwriter's Workbook and Worksheet that `_fill` uses, recorded."""

    def __init__(self) -> None:
        self.cells: dict[int, dict[int, tuple[str, object, object]]] = {}
        self.strings: dict[str, int] = {}
        self.string_count = 0
        self.merged: list[tuple[int, int, int, int]] = []
        self.heights: dict[int, float] = {}
        self.last_row = self.last_col = 0

    def add_format(self, properties: dict) -> tuple:
        return tuple(sorted(properties.items()))

    def add_worksheet(self, _name: str) -> SheetBook:
        return self  # the sheet's name, widths, panes and page setup are in the parts taken from xlsxwriter

    def set_column_pixels(self, *_args) -> None:
        pass

    def freeze_panes(self, *_args) -> None:
        pass

    # The page setup is the same for every workbook of a kind: it is in the parts taken from xlsxwriter.
    def set_landscape(self) -> None:
        pass

    def set_paper(self, *_args) -> None:
        pass

    def fit_to_pages(self, *_args) -> None:
        pass

    def repeat_rows(self, *_args) -> None:
        pass

    def set_row_pixels(self, row: int, height: float) -> None:
        self.heights[row] = height

    def _reach(self, row: int, col: int) -> None:
        self.last_row, self.last_col = max(self.last_row, row), max(self.last_col, col)

    def write_string(self, row: int, col: int, text: str, style=None) -> None:
        if len(text) > _PLAIN_UP_TO or (text.startswith("<r>") and text.endswith("</r>")):
            raise Unsupported("text xlsxwriter cuts or takes for markup")
        self._reach(row, col)
        index = self.strings.setdefault(text, len(self.strings))
        self.string_count += 1
        self.cells.setdefault(row, {})[col] = ("s", index, style)

    def write_number(self, row: int, col: int, number, style=None) -> None:
        if not isinstance(number, (int, float)) or isinstance(number, bool):
            raise Unsupported("a number of another type")
        self._reach(row, col)
        self.cells.setdefault(row, {})[col] = ("n", number, style)

    def write_blank(self, row: int, col: int, _blank, style=None) -> None:
        if style is None:
            return
        self._reach(row, col)
        self.cells.setdefault(row, {})[col] = ("b", None, style)

    def write_boolean(self, *_args) -> None:
        raise Unsupported("a logical value")

    def merge_range(self, first_row: int, first_col: int, last_row: int, last_col: int, data: str, style=None) -> None:
        if data != "":
            raise Unsupported("a merged range written with its value")
        self._reach(last_row, last_col)
        self.merged.append((first_row, first_col, last_row, last_col))
        for row in range(first_row, last_row + 1):
            for col in range(first_col, last_col + 1):
                self.write_blank(row, col, "", style)

    def formats_used(self) -> tuple:
        """The formats in the order xlsxwriter numbers them: as the cells are written, row by row."""
        used: dict = {}
        for row in sorted(self.cells):
            cells = self.cells[row]
            for col in sorted(cells):
                style = cells[col][2]
                if style is not None:
                    used.setdefault(style, len(used) + 1)
        return tuple(used)


def sheet_xml(book: SheetBook, prefix: str, suffix: str) -> str:
    """The worksheet part: `prefix` (up to <sheetData>) with this sheet's dimension, the rows, `suffix`."""
    xf = {style: n for n, style in enumerate(book.formats_used(), start=1)}
    rows = sorted(book.cells)
    spans = _spans(book, rows)
    out = [_SHEET_DATA.sub(f'<dimension ref="A1:{xl_col_to_name(book.last_col)}{book.last_row + 1}"/>', prefix)]
    for row in rows:
        r = row + 1
        height = f' ht="{book.heights[row] * 0.75:.16g}" customHeight="1"' if row in book.heights else ""
        out.append(f'<row r="{r}" spans="{spans[row // 16]}"{height}>')
        cells = book.cells[row]
        for col in sorted(cells):
            kind, value, style = cells[col]
            ref = f"{xl_col_to_name(col)}{r}"
            attrs = f' r="{ref}" s="{xf[style]}"' if style is not None else f' r="{ref}"'
            if kind == "s":
                out.append(f'<c{attrs} t="s"><v>{value}</v></c>')
            elif kind == "n":
                out.append(f"<c{attrs}><v>{value:.16G}</v></c>")
            else:
                out.append(f"<c{attrs}/>")
        out.append("</row>")
    out.append(suffix)
    return "".join(out)


def _spans(book: SheetBook, rows: list[int]) -> dict[int, str]:
    """Each block of 16 rows' first and last used column, as xlsxwriter states it on each row."""
    spans: dict[int, tuple[int, int]] = {}
    for row in rows:
        cols = book.cells[row]
        low, high = min(cols), max(cols)
        block = row // 16
        if block in spans:
            low, high = min(low, spans[block][0]), max(high, spans[block][1])
        spans[block] = (low, high)
    return {block: f"{low + 1}:{high + 1}" for block, (low, high) in spans.items()}


def strings_xml(book: SheetBook, head: str) -> str:
    """The shared strings part: `head` (up to the first string) with this book's counts, then each string."""
    out = [_COUNTS.sub(f'count="{book.string_count}" uniqueCount="{len(book.strings)}"', head)]
    for text in book.strings:
        text = _ESCAPED_ESCAPE.sub(r"_x005F\1", text)
        text = _CONTROL.sub(lambda m: f"_x{ord(m.group(1)):04X}_", text)
        text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
        space = ' xml:space="preserve"' if _EDGE_SPACE.search(text) else ""
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        out.append(f"<si><t{space}>{text}</t></si>")
    out.append("</sst>")
    return "".join(out)


class Package:
    """The parts of one kind of workbook, as xlsxwriter wrote them, ready to take a sheet's own."""

    def __init__(self, workbook: bytes) -> None:
        with zipfile.ZipFile(io.BytesIO(workbook)) as z:
            self.names = z.namelist()
            self.parts = {name: z.read(name) for name in self.names}
        sheet = self.parts[SHEET_PART].decode()
        start, end = sheet.index("<sheetData>") + len("<sheetData>"), sheet.index("</sheetData>")
        self.sheet_prefix, self.sheet_suffix = sheet[:start], sheet[end:]
        strings = self.parts[STRINGS_PART].decode()
        self.strings_head = strings[:strings.index("<si>")] if "<si>" in strings else strings[:-len("</sst>")]
        self.core = self.parts[CORE_PART].decode()

        # The other parts as xlsxwriter zipped them: compressed once, not again for every workbook.
        self.zipped = dict(zip(self.names, _members(workbook)))

    def workbook(self, book: SheetBook, now: dt.datetime) -> bytes:
        """The package with `book`'s sheet and strings, and `now` as created and modified, zipped as
        xlsxwriter zips it in memory (the same bytes `zip_parts` gives)."""
        own = {
            SHEET_PART: sheet_xml(book, self.sheet_prefix, self.sheet_suffix).encode(),
            STRINGS_PART: strings_xml(book, self.strings_head).encode(),
            CORE_PART: _MOMENT.sub(f"{now:%Y-%m-%dT%H:%M:%SZ}", self.core).encode(),
        }
        mine = dict(zip(own, _members(zip_parts(list(own.items())))))
        return _joined([mine[name] if name in mine else self.zipped[name] for name in self.names])


def zip_parts(parts: list[tuple[str, bytes]]) -> bytes:
    """Parts deflated into a zip in this order, laid out as zipfile lays out xlsxwriter's.

    Each part is deflated with a window sized to these small parts: zipfile's full window costs
    more to set up than deflating a few KB (a quarter of a millisecond a workbook), and any
    reader inflates the result alike.
    """
    members = []
    for name, data in parts:
        packer = zlib.compressobj(6, zlib.DEFLATED, -13, 6)
        members.append(Member(name, zipfile.ZIP_DEFLATED, zlib.crc32(data), len(data),
                              packer.compress(data) + packer.flush()))
    return packed(members)


# A zip as zipfile writes one (members one after the other, no comment): each member is its local
# record (header and data, the same wherever it stands) and its central directory entry, which
# says where the record starts (at byte 42 of the entry).
_OFFSET_AT = 42


def _members(data: bytes) -> list[tuple[bytes, bytes]]:
    """Each member of a zip as (local record, central directory entry), in order."""
    _, _, _, count, _, _, directory, _ = END.unpack_from(data, len(data) - END.size)
    entries, at = [], directory
    for _ in range(count):
        name, extra, comment = struct.unpack_from("<3H", data, at + 28)
        entries.append(data[at:at + 46 + name + extra + comment])
        at += len(entries[-1])
    starts = [struct.unpack_from("<L", e, _OFFSET_AT)[0] for e in entries] + [directory]
    return [(data[starts[i]:starts[i + 1]], entries[i]) for i in range(count)]


def _joined(members: list[tuple[bytes, bytes]]) -> bytes:
    """The zip of these members, in this order."""
    records, entries, at = [], [], 0
    for record, entry in members:
        entry = bytearray(entry)
        struct.pack_into("<L", entry, _OFFSET_AT, at)
        records.append(record)
        entries.append(bytes(entry))
        at += len(record)
    directory = b"".join(entries)
    end = END.pack(b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), at, 0)
    return b"".join(records) + directory + end


def same_workbook(a: bytes, b: bytes) -> bool:
    """Byte for byte the same parts, but for the moment of creation."""
    with zipfile.ZipFile(io.BytesIO(a)) as za, zipfile.ZipFile(io.BytesIO(b)) as zb:
        if za.namelist() != zb.namelist():
            return False
        return all(
            _MOMENT.sub("", za.read(n).decode()) == _MOMENT.sub("", zb.read(n).decode()) if n == CORE_PART
            else za.read(n) == zb.read(n)
            for n in za.namelist()
        )


class FastWriter:
    """Workbooks written through `fill` on a SheetBook, packaged like the first of their kind that
    `reference` (xlsxwriter) wrote; None where the fast way does not give the same bytes."""

    def __init__(self, fill: Callable, reference: Callable[[object], bytes]) -> None:
        self.fill, self.reference = fill, reference
        self.packages: dict[tuple, Package | None] = {}

    def workbook_bytes(self, job) -> bytes | None:
        book = SheetBook()
        try:
            self.fill(book, job)
        except Unsupported:
            return None
        kind = book.formats_used()
        if kind not in self.packages:
            expected = self.reference(job)
            package = Package(expected)
            mine = package.workbook(book, dt.datetime.now(dt.timezone.utc))
            self.packages[kind] = package if same_workbook(mine, expected) else None
            return expected
        package = self.packages[kind]
        return package.workbook(book, dt.datetime.now(dt.timezone.utc)) if package else None
