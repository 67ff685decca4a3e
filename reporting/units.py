"""The unit registry: every grassroots party organisation of the bloc, with its history."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from reporting.programme import GROUPS, programmes_dir

REGISTRY_FILE_NAME = "units.csv"
UNIT_TYPES = ("chi_bo_co_so", "dang_bo_co_so")
ONE_DAY = dt.timedelta(days=1)


class RegistryError(ValueError):
    """The registry file is missing or inconsistent."""


@dataclass(frozen=True)
class UnitVersion:
    """One row of the registry: a unit as it was named and placed between two dates."""

    unit_code: str
    name_vi: str
    unit_group: str
    unit_type: str
    valid_from: dt.date
    valid_to: dt.date | None
    successor_code: str | None

    def in_force_on(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class Registry:
    versions: tuple[UnitVersion, ...]
    source_sha256: str
    # The file it was read from, named in the messages about it (None when built in code).
    path: Path | None = None

    def in_force_on(self, day: dt.date) -> list[UnitVersion]:
        """The units that exist on `day`, one version each, ordered by code."""
        return sorted((v for v in self.versions if v.in_force_on(day)), key=lambda v: v.unit_code)

    def year_sha256(self, year: int) -> str:
        """A fingerprint of what a year's report reads of the registry: the versions in force at some
        time in the year, an end or a successor after the year left out (a merger in July 2024 does
        not change the report of 2023, already issued)."""
        last = dt.date(year, 12, 31)
        rows = sorted(
            (v.unit_code, v.name_vi, v.unit_group, v.unit_type, v.valid_from.isoformat(),
             *((v.valid_to.isoformat(), v.successor_code or "") if v.valid_to is not None and v.valid_to < last
               else ("", "")))
            for v in self.versions
            if v.valid_from <= last and (v.valid_to is None or v.valid_to >= dt.date(year, 1, 1))
        )
        return hashlib.sha256(repr(rows).encode("utf-8")).hexdigest()

    def version_on(self, unit_code: str, day: dt.date) -> UnitVersion | None:
        for version in self.versions:
            if version.unit_code == unit_code and version.in_force_on(day):
                return version
        return None


COLUMNS = ("unit_code", "name_vi", "unit_group", "unit_type", "valid_from", "valid_to", "successor_code")
SAVE_AS_VI = "hãy lưu lại tệp dạng CSV UTF-8, phân cách bằng dấu phẩy (Excel: Lưu thành > CSV UTF-8 (Comma delimited))"
GROUPS_VI = "agencies (khối cơ quan) hoặc enterprises (khối doanh nghiệp)"
UNIT_TYPES_VI = "chi_bo_co_so (chi bộ cơ sở) hoặc dang_bo_co_so (đảng bộ cơ sở)"
# Past this many, the rest of a registry's problems are counted, not listed.
PROBLEMS_LISTED = 10
_NAME_TOKEN = re.compile(r"[A-Za-z0-9]+")


def codes_in_name(file_name: str) -> set[str]:
    """The words of a file name that could be unit codes, upper-cased: letters and digits mixed,
    so a year, a date or "BaoCao" is no unit's code ("CQ047_BaoCao_Quy2_2023.xlsx" gives CQ047)."""
    return {t.upper() for t in _NAME_TOKEN.findall(file_name or "") if not t.isdigit() and not t.isalpha()}


def load_registry(path: Path | None = None) -> Registry:
    """Read and check the registry CSV (default: units.csv beside the programme files).

    Every mistake is a RegistryError in Vietnamese naming the file, the line and what to write
    instead. Codes are trimmed and upper-cased (` cq003 ` is CQ003); a row with no value at all
    (`,,,,,,`, as a spreadsheet saves its empty rows) is skipped like a blank line."""
    path = Path(path) if path else programmes_dir() / REGISTRY_FILE_NAME
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RegistryError(f"{path}: không đọc được tệp danh sách đơn vị ({exc.strerror or exc})") from exc
    reader = csv.DictReader(io.StringIO(_decoded(raw, path)))
    _check_header(reader.fieldnames, path)
    versions: list[UnitVersion] = []
    lines: list[int] = []
    problems: list[str] = []
    codes: set[str] = set()  # of every row, readable or not: a successor is looked for among them
    for row in reader:
        line = reader.line_num
        values = [v for v in row.values() if isinstance(v, str)]
        if None not in row and all(not v.strip() for v in values):
            continue
        if isinstance(row.get("unit_code"), str):
            codes.add(row["unit_code"].strip().upper())
        version = _version(row, f"dòng {line}", problems)
        if version is not None:
            versions.append(version)
            lines.append(line)
    registry = Registry(tuple(versions), hashlib.sha256(raw).hexdigest(), path)
    _check(registry, lines, codes, problems)
    if problems:
        listed = problems[:PROBLEMS_LISTED]
        if len(problems) > PROBLEMS_LISTED:
            listed.append(f"... và {len(problems) - PROBLEMS_LISTED} lỗi khác")
        raise RegistryError(f"{path}: " + "; ".join(listed))
    return registry


def _decoded(raw: bytes, path: Path) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise RegistryError(f"{path}: tệp được lưu ở mã UTF-16 (Unicode Text), không phải UTF-8; {SAVE_AS_VI}")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise RegistryError(
            f"{path}: dòng {line}: tệp không được lưu ở mã UTF-8 (có thể là mã Windows-1258 hoặc TCVN3); {SAVE_AS_VI}"
        ) from exc


def _check_header(fieldnames: list[str] | None, path: Path) -> None:
    expected = ",".join(COLUMNS)
    if not fieldnames:
        raise RegistryError(f"{path}: tệp trống; dòng 1 phải là tiêu đề {expected}")
    if len(fieldnames) == 1 and ";" in fieldnames[0]:
        raise RegistryError(f"{path}: dòng 1: các cột được phân cách bằng dấu chấm phẩy (;), không phải dấu phẩy (,); {SAVE_AS_VI}")
    missing = [c for c in COLUMNS if c not in fieldnames]
    if missing:
        raise RegistryError(
            f"{path}: dòng 1 (tiêu đề): thiếu cột {', '.join(missing)}; tiêu đề phải là {expected} "
            "(giữ nguyên tên cột, không dịch)"
        )


def _version(row: dict, where: str, problems: list[str]) -> UnitVersion | None:
    """The row as a unit version, or None with its problems appended."""
    if None in row or any(row[c] is None for c in COLUMNS):
        count = len([v for v in row.values() if not isinstance(v, list)]) + len(row.get(None) or [])
        count -= sum(1 for c in COLUMNS if row.get(c) is None)
        problems.append(f"{where}: có {count} cột, cần đúng {len(COLUMNS)} cột ({','.join(COLUMNS)}); "
                        "tên có dấu phẩy phải đặt trong ngoặc kép")
        return None
    code = row["unit_code"].strip().upper()
    if not code:
        problems.append(f"{where}: thiếu mã đơn vị (unit_code)")
        return None
    where = f"{where} ({code})"
    before = len(problems)
    if not row["name_vi"].strip():
        # Templates, feedback and the report name the unit by it.
        problems.append(f"{where}: thiếu tên đơn vị (name_vi)")
    group, unit_type = row["unit_group"].strip(), row["unit_type"].strip()
    if group not in GROUPS:
        problems.append(f"{where}: không có khối {group!r}; cột unit_group ghi {GROUPS_VI}")
    if unit_type not in UNIT_TYPES:
        problems.append(f"{where}: không có loại {unit_type!r}; cột unit_type ghi {UNIT_TYPES_VI}")
    valid_from = _day(row["valid_from"], "valid_from", where, problems)
    valid_to = _day(row["valid_to"], "valid_to", where, problems) if row["valid_to"].strip() else None
    if len(problems) > before:
        return None
    if valid_to is not None and valid_to < valid_from:
        problems.append(f"{where}: valid_to ({valid_to:%d/%m/%Y}) trước valid_from ({valid_from:%d/%m/%Y})")
        return None
    return UnitVersion(
        unit_code=code,
        name_vi=unicodedata.normalize("NFC", row["name_vi"].strip()),
        unit_group=group,
        unit_type=unit_type,
        valid_from=valid_from,
        valid_to=valid_to,
        successor_code=row["successor_code"].strip().upper() or None,
    )


def _day(text: str, column: str, where: str, problems: list[str]) -> dt.date | None:
    text = text.strip()
    try:
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            return dt.date.fromisoformat(text)
    except ValueError:
        pass
    problems.append(
        f"{where}: ngày {column} {text!r} không đọc được; hãy ghi dạng năm-tháng-ngày, ví dụ 2020-01-01"
        if text else f"{where}: thiếu ngày {column}; hãy ghi dạng năm-tháng-ngày, ví dụ 2020-01-01"
    )
    return None


def _check(registry: Registry, lines: list[int], codes: set[str], problems: list[str]) -> None:
    by_code: dict[str, list[tuple[UnitVersion, int]]] = {}
    for v, line in zip(registry.versions, lines):
        by_code.setdefault(v.unit_code, []).append((v, line))
    for code, versions in by_code.items():
        ordered = sorted(versions, key=lambda pair: pair[0].valid_from)
        for (earlier, line_a), (later, line_b) in zip(ordered, ordered[1:]):
            if earlier.valid_to is None or earlier.valid_to >= later.valid_from:
                first, second = sorted((line_a, line_b))
                problems.append(
                    f"dòng {first} và dòng {second} ({code}): mã đơn vị trùng, thời gian hiệu lực chồng nhau; "
                    "hãy xóa dòng thừa, hoặc (khi đơn vị đổi tên) ghi valid_to của dòng cũ trước valid_from của dòng mới"
                )
    versions_of: dict[str, list[UnitVersion]] = {}
    for v in registry.versions:
        versions_of.setdefault(v.unit_code, []).append(v)
    for v, line in zip(registry.versions, lines):
        if v.successor_code and v.successor_code == v.unit_code:
            problems.append(
                f"dòng {line} ({v.unit_code}): đơn vị không thể hợp nhất vào chính nó (successor_code); "
                "hãy ghi mã của đơn vị tiếp nhận, hoặc để trống nếu đơn vị chỉ đổi tên hay giải thể"
            )
        elif v.successor_code and v.valid_to is None:
            problems.append(
                f"dòng {line} ({v.unit_code}): có đơn vị tiếp nhận {v.successor_code} nhưng chưa có ngày kết thúc "
                "(valid_to); hãy ghi ngày cuối cùng đơn vị còn hoạt động, trước ngày hợp nhất"
            )
        elif v.successor_code and v.successor_code in codes and not any(
                s.in_force_on(v.valid_to) or s.in_force_on(v.valid_to + ONE_DAY)
                for s in versions_of.get(v.successor_code, ())):
            # In force on the merger's last day or the day after: a successor merging on the same day
            # (a chain) is one, a unit dissolved before it is none.
            problems.append(
                f"dòng {line} ({v.unit_code}): đơn vị tiếp nhận {v.successor_code} không còn hoạt động (hoặc chưa "
                f"thành lập) vào ngày {v.valid_to + ONE_DAY:%d/%m/%Y}, ngày sau khi {v.unit_code} thôi "
                "hoạt động; hãy kiểm tra successor_code và các ngày hiệu lực"
            )
        elif v.successor_code and v.successor_code not in codes:
            problems.append(
                f"dòng {line} ({v.unit_code}): đơn vị tiếp nhận (successor_code) {v.successor_code} không có trong tệp; "
                "hãy ghi mã của một đơn vị có trong danh sách"
            )
    problems.extend(_merger_cycles(registry, lines))


def _merger_cycles(registry: Registry, lines: list[int]) -> list[str]:
    """Units that merge into each other in a ring (CQ003 into CQ048 and CQ048 into CQ003): no unit
    is left to report for them, and each would vanish from the units due."""
    into: dict[str, tuple[str, int]] = {}
    for v, line in zip(registry.versions, lines):
        if v.successor_code and v.successor_code != v.unit_code:
            into[v.unit_code] = (v.successor_code, line)
    problems, reported = [], set()
    for start in sorted(into):
        path: list[str] = []
        code = start
        while code in into and code not in path:
            path.append(code)
            code = into[code][0]
        if code in path and code not in reported:
            ring = path[path.index(code):]
            reported.update(ring)
            where = f"dòng {', '.join(str(into[c][1]) for c in ring)} ({' → '.join([*ring, ring[0]])})"
            problems.append(
                f"{where}: các đơn vị hợp nhất vòng tròn vào nhau nên không còn đơn vị nào báo cáo thay; "
                "hãy sửa successor_code cho đúng đơn vị tiếp nhận"
            )
    return problems
