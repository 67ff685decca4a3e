"""The programme of a reporting year, read from its declarative file in `programmes/`."""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

PROGRAMMES_DIR = Path(__file__).resolve().parent.parent / "programmes"
PROGRAMMES_ENV = "P135_PROGRAMMES_DIR"

GROUPS = ("agencies", "enterprises")
# Indicator and metric codes become SQL column names in the analysts' wide view.
CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
AGGREGATIONS = ("sum", "latest", "weighted_mean")


# A quarter's deadline falls after its last day, and within a quarter of it: a deadline typed
# with the previous or the next year, or with day and month swapped (2024-10-07 for 7 October,
# meant 10 July), falls outside; on an approved quarter it would quietly move every late unit.
DEADLINE_AT_MOST_AFTER = dt.timedelta(days=92)


class ProgrammeError(ValueError):
    """A programme file is missing or says something inconsistent."""


@dataclass(frozen=True)
class Indicator:
    code: str
    label_vi: str
    unit_vi: str
    group: str
    aggregation: str
    position: int
    weight: str | None = None
    has_plan: bool = False
    decimals: int = 0
    signed: bool = False
    plausible_min: float | None = None
    plausible_max: float | None = None
    max_ratio_to_previous: float | None = None
    # How the year-end report names the year's figure, when the quarter's label would mislead
    # ("Số đảng viên cuối quý" is, for the year, the members at its end).
    year_label_vi: str | None = None

    @property
    def year_label(self) -> str:
        return self.year_label_vi or self.label_vi

    def applies_to(self, unit_group: str) -> bool:
        return self.group in ("all", unit_group)

    @property
    def has_ytd(self) -> bool:
        """A flow carries its year-to-date total (lũy kế) beside the quarter's value."""
        return self.aggregation == "sum"


@dataclass(frozen=True)
class Choice:
    code: str
    label_vi: str
    is_completed: bool = False
    needs_reason: bool = False


@dataclass(frozen=True)
class Comparison:
    """`indicator` must not exceed `at_most` in one submission."""

    indicator: str
    at_most: str
    severity: str = "warning"


@dataclass(frozen=True)
class HeadlineMetric:
    metric_code: str
    label_vi: str
    display_unit_vi: str
    display_decimals: int
    position: int
    indicator: str | None = None
    task_sources: tuple[str, ...] = ()
    task_statuses: tuple[str, ...] = ()
    plan_metric: str | None = None


@dataclass(frozen=True)
class Publication:
    """Who issues the year-end report and to whom: the heading, number, signature and recipients."""

    issuer_parent: str
    issuer: str
    document_number: str
    place: str
    signer_on_behalf: str
    signer_title: str
    signer_name: str
    recipients: tuple[str, ...]
    # The indicator drawn quarter by quarter in the workbook's chart (default: the first
    # headline indicator that sums its quarters).
    quarterly_chart_indicator: str | None = None


PUBLICATION_FIELDS = (
    "issuer_parent", "issuer", "document_number", "place", "signer_on_behalf", "signer_title", "signer_name",
)


@dataclass(frozen=True)
class Programme:
    code: str
    year: int
    title_vi: str
    organisation_vi: str
    template_version: str
    accepted_template_versions: tuple[str, ...]
    deadlines: dict[int, dt.date]
    groups: dict[str, str]
    unit_types: dict[str, str]
    task_sources: tuple[Choice, ...]
    task_statuses: tuple[Choice, ...]
    indicators: tuple[Indicator, ...]
    headline: tuple[HeadlineMetric, ...]
    comparisons: tuple[Comparison, ...] = ()
    publication: Publication | None = None
    # Whom a unit asks to reopen a quarter once it is approved (named in its feedback).
    contact_vi: str = ""
    source_sha256: str = field(default="", compare=False)

    def indicators_for(self, unit_group: str) -> list[Indicator]:
        return [i for i in self.indicators if i.applies_to(unit_group)]

    def indicator(self, code: str) -> Indicator:
        for item in self.indicators:
            if item.code == code:
                return item
        raise KeyError(code)

    def headline_metric(self, code: str) -> HeadlineMetric:
        for item in self.headline:
            if item.metric_code == code:
                return item
        raise KeyError(code)

    def display_decimals(self, indicator_code: str) -> int:
        """One number format per indicator across a report: its headline's decimals, else those of
        the headline figures in its unit (profit in tỷ đồng as revenue is shown), else its own."""
        for h in self.headline:
            if h.indicator == indicator_code:
                return h.display_decimals
        unit = self.indicator(indicator_code).unit_vi
        alike = [h.display_decimals for h in self.headline if h.indicator and self.indicator(h.indicator).unit_vi == unit]
        return max(alike) if alike else self.indicator(indicator_code).decimals

    def source_by_label(self) -> dict[str, str]:
        return {c.label_vi: c.code for c in self.task_sources}

    def status_by_label(self) -> dict[str, str]:
        return {c.label_vi: c.code for c in self.task_statuses}


class NoProgramme(ProgrammeError):
    """No programme file for the year asked about; `present_vi` names the years the folder's files
    state (a 2024 file that says `year = 2025`), empty when it has none."""

    def __init__(self, message: str, present_vi: str = "") -> None:
        super().__init__(message + (f" (các tệp có: {present_vi})" if present_vi else ""))
        self.present_vi = present_vi


def _toml_problem_vi(exc: Exception) -> str:
    """Where a programme file stops being TOML, in Vietnamese: the line and column the parser names."""
    if isinstance(exc, UnicodeDecodeError):
        return "tệp không được lưu ở mã UTF-8"
    found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
    return f"lỗi cú pháp ở dòng {found.group(1)}, cột {found.group(2)}" if found else "lỗi cú pháp"


def _parse(raw_bytes: bytes, path: Path) -> dict:
    """The TOML of a programme file; a UTF-8 byte order mark (Windows Notepad writes one) is dropped."""
    try:
        return tomllib.loads(raw_bytes.decode("utf-8").removeprefix("\ufeff"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProgrammeError(f"{path}: không phải tệp TOML hợp lệ ({_toml_problem_vi(exc)})") from exc


def load_programme(path: Path) -> Programme:
    """Read and check one programme file."""
    raw_bytes = Path(path).read_bytes()
    raw = _parse(raw_bytes, path)
    try:
        programme = _build(raw, hashlib.sha256(raw_bytes).hexdigest())
    except _FieldError as exc:
        raise ProgrammeError(f"{path}: {exc}") from exc
    except (KeyError, TypeError) as exc:
        raise ProgrammeError(f"{path}: thiếu hoặc sai trường {exc}") from exc
    _check(programme, path)
    return programme


def programmes_dir() -> Path:
    """Where the programme files and the unit registry live: $P135_PROGRAMMES_DIR or programmes/."""
    return Path(os.environ.get(PROGRAMMES_ENV) or PROGRAMMES_DIR)


def all_programmes(skipped: list[str] | None = None) -> list[Programme]:
    """Every usable programme file of the folder. A broken one is left out (its reason appended to
    `skipped`): the year it is for refuses it when asked for (programme_for_year), the other years
    go on."""
    loaded = []
    for path in sorted(programmes_dir().glob("*.toml")):
        try:
            loaded.append((path, load_programme(path)))
        except ProgrammeError as exc:
            if skipped is not None:
                skipped.append(str(exc))
    programmes = []
    for path, programme in loaded:
        if reason := _taken(path, programme, loaded):
            if skipped is not None:
                skipped.append(reason)
            continue
        programmes.append(programme)
    return programmes


def _taken(path: Path, p: Programme, loaded: list[tuple[Path, Programme]]) -> str | None:
    """Why `p` cannot be used when an earlier year's file already holds its code or a template
    version it accepts (a file copied for the new year with only `year` changed): the warehouse
    keeps one programme per code, so loading it would move the earlier year's indicators and
    headline to this year; and a template of the earlier year would pass as this year's."""
    for other_path, q in loaded:
        if q.year >= p.year:
            continue
        if q.code == p.code:
            hint = p.code.replace(str(q.year), str(p.year))
            example = f", ví dụ {hint!r}" if hint != p.code else ""
            return (f"{path}: mã chương trình (code) {p.code!r} đã là mã của chương trình năm {q.year} "
                    f"(tệp {other_path.name}); mỗi năm cần một mã riêng{example}")
        if shared := sorted(set(p.accepted_template_versions) & set(q.accepted_template_versions)):
            return (f"{path}: phiên bản mẫu {shared[0]!r} đã là mẫu của năm {q.year} (tệp {other_path.name}); "
                    "mẫu của mỗi năm cần một phiên bản riêng (template_version và accepted_template_versions)")
    return None


def programme_file(year: int, directory: Path | None = None) -> Path | None:
    """The file of the programmes folder that states `year` (the first by name), None when none does."""
    directory = Path(directory) if directory else programmes_dir()
    return next((path for path in sorted(directory.glob("*.toml")) if _stated_year(path) == year), None)


def _stated_year(path: Path) -> int | None:
    """The `year` a programme file states, when it parses and says one: whose file a broken one is."""
    try:
        year = _parse(Path(path).read_bytes(), path).get("year")
    except (OSError, ProgrammeError):
        return None
    return year if isinstance(year, int) and not isinstance(year, bool) else None


def programme_for_year(year: int, directory: Path | None = None) -> Programme:
    """Find the programme file whose `year` is the given one.

    A broken file of another year does not stand in the way: it is refused only when it states
    this year, or when its year cannot be read and no usable file for the year exists (the
    message then names it)."""
    directory = Path(directory) if directory else programmes_dir()
    found = []
    loaded = []
    unreadable: list[ProgrammeError] = []
    misdated: list[str] = []
    for path in sorted(directory.glob("*.toml")):
        try:
            programme = load_programme(path)
        except ProgrammeError as exc:
            stated = _stated_year(path)
            if stated == year:
                raise
            if stated is None:
                unreadable.append(exc)
            else:
                # Named all the same: a 2024 file copied from 2023 with `year = 2025` typed is the
                # one the office looks for, whether or not it would be valid for 2025.
                misdated.append(f"{path.name} ghi năm {stated}")
            continue
        loaded.append((path, programme))
        if programme.year == year:
            found.append((path, programme))
    if not found and unreadable:
        raise ProgrammeError(
            f"không có tệp chương trình báo cáo dùng được cho năm {year} trong {directory}; "
            f"tệp không đọc được năm báo cáo: " + "; ".join(str(e) for e in unreadable)
        )
    if not found:
        present = ", ".join(sorted([f"{path.name} ghi năm {p.year}" for path, p in loaded] + misdated))
        raise NoProgramme(f"không có tệp chương trình báo cáo cho năm {year} trong {directory}", present)
    if len(found) > 1:
        names = ", ".join(sorted(path.name for path, _ in found))
        raise ProgrammeError(
            f"có nhiều hơn một tệp chương trình báo cáo cho năm {year} trong {directory} ({names}); "
            "hãy giữ một tệp và chuyển các tệp kia ra khỏi thư mục"
        )
    [(path, programme)] = found
    if reason := _taken(path, programme, loaded):
        raise ProgrammeError(reason)
    return programme


_MISSING = object()


class _FieldError(ValueError):
    """A field of a programme file is missing or of the wrong kind (the message is Vietnamese)."""


# What each kind of entry may say: a misspelt key ("has_plans") would otherwise be dropped silently.
INDICATOR_KEYS = (
    "code", "label_vi", "unit_vi", "group", "aggregation", "weight", "has_plan", "decimals", "signed",
    "plausible_min", "plausible_max", "max_ratio_to_previous", "year_label_vi",
)
TOP_KEYS = (
    "code", "year", "title_vi", "organisation_vi", "template_version", "accepted_template_versions", "contact_vi",
    "deadlines", "groups", "unit_types", "task_sources", "task_statuses", "indicators", "comparisons", "headline",
    "publication",
)
PUBLICATION_KEYS = (*PUBLICATION_FIELDS, "recipients", "quarterly_chart_indicator")
HEADLINE_KEYS = (
    "metric_code", "label_vi", "display_unit_vi", "display_decimals", "indicator", "task_sources", "task_statuses",
    "plan_metric",
)
TYPE_VI = {
    str: "một dòng chữ trong ngoặc kép", int: "một số nguyên", float: "một số", bool: "true hoặc false (không có ngoặc kép)",
    dt.date: "một ngày dạng năm-tháng-ngày không có ngoặc kép (ví dụ 2024-04-10)", list: "một danh sách [...]",
    dict: "một bảng",
}


def _where_vi(kind: str, position: int, raw: dict) -> str:
    """"chỉ tiêu thứ 3 (revenue_bn_vnd)": an entry by its position, and its code when it has one."""
    key = "metric_code" if kind == "chỉ tiêu chính" else "code"
    code = raw.get(key)
    return f"{kind} thứ {position}" + (f" ({code})" if isinstance(code, str) and code else "")


def _value(table: dict, key: str, kind: type, where: str, default=_MISSING):
    """table[key] when it is of `kind` (ints pass for floats; booleans pass for nothing else)."""
    name = f"{where}: " if where else ""
    if key not in table:
        if default is _MISSING:
            raise _FieldError(f"thiếu hoặc sai trường {key!r}" + (f" ở {where}" if where else ""))
        return default
    value = table[key]
    ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
    if kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is dt.date:
        ok = isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    if not ok:
        raise _FieldError(f"{name}trường {key!r} phải là {TYPE_VI[kind]}, không phải {_shown(value)}")
    return float(value) if kind is float else value


def _shown(value) -> str:
    if isinstance(value, dict):
        return "một bảng"
    if isinstance(value, list):
        return "một danh sách"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def _strings(table: dict, key: str, where: str, default=_MISSING) -> tuple[str, ...]:
    values = _value(table, key, list, where, default)
    if not all(isinstance(v, str) for v in values):
        raise _FieldError(f"{where + ': ' if where else ''}trường {key!r} phải là danh sách các dòng chữ trong ngoặc kép")
    return tuple(values)


def _entries(raw: dict, key: str, kind_vi: str, default=_MISSING) -> list[dict]:
    """The [[key]] entries: a list of tables ([key] with one bracket is one table, not a list)."""
    if key not in raw:
        if default is not _MISSING:
            return default
        raise _FieldError(f"thiếu hoặc sai trường {key!r}")
    value = raw[key]
    if isinstance(value, dict):
        raise _FieldError(
            f"[{key}] phải viết là [[{key}]] (hai dấu ngoặc vuông) trước mỗi {kind_vi}: "
            f"đây là danh sách các {kind_vi}, không phải một bảng"
        )
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise _FieldError(f"trường {key!r} phải là danh sách các mục [[{key}]]")
    return value


def _no_unknown_keys(table: dict, allowed: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (có phải là {close[0]!r}?)" if close else f" (các trường được dùng: {', '.join(allowed)})"
            raise _FieldError(f"{where}: không có trường {key!r}{hint}")


def _indicator(item: dict, position: int) -> Indicator:
    where = _where_vi("chỉ tiêu", position, item)
    _no_unknown_keys(item, INDICATOR_KEYS, where)
    decimals = _value(item, "decimals", int, where, 0)
    if decimals < 0:
        raise _FieldError(f"{where}: trường 'decimals' không được âm")
    return Indicator(
        code=_value(item, "code", str, where),
        label_vi=_value(item, "label_vi", str, where),
        unit_vi=_value(item, "unit_vi", str, where),
        group=_value(item, "group", str, where),
        aggregation=_value(item, "aggregation", str, where),
        position=position,
        weight=_value(item, "weight", str, where, None),
        has_plan=_value(item, "has_plan", bool, where, False),
        decimals=decimals,
        signed=_value(item, "signed", bool, where, False),
        plausible_min=_value(item, "plausible_min", float, where, None),
        plausible_max=_value(item, "plausible_max", float, where, None),
        max_ratio_to_previous=_value(item, "max_ratio_to_previous", float, where, None),
        year_label_vi=_value(item, "year_label_vi", str, where, None),
    )


def _headline(item: dict, position: int) -> HeadlineMetric:
    where = _where_vi("chỉ tiêu chính", position, item)
    _no_unknown_keys(item, HEADLINE_KEYS, where)
    return HeadlineMetric(
        metric_code=_value(item, "metric_code", str, where),
        label_vi=_value(item, "label_vi", str, where),
        display_unit_vi=_value(item, "display_unit_vi", str, where),
        display_decimals=_value(item, "display_decimals", int, where, 0),
        position=position,
        indicator=_value(item, "indicator", str, where, None),
        task_sources=_strings(item, "task_sources", where, ()),
        task_statuses=_strings(item, "task_statuses", where, ()),
        plan_metric=_value(item, "plan_metric", str, where, None),
    )


def _choice(item: dict, position: int, kind_vi: str, flags: bool) -> Choice:
    where = _where_vi(kind_vi, position, item)
    # A misspelt "needs_reasons" would switch the stopped task's reason check off without a word.
    _no_unknown_keys(item, ("code", "label_vi", "is_completed", "needs_reason") if flags else ("code", "label_vi"), where)
    return Choice(
        _value(item, "code", str, where),
        _value(item, "label_vi", str, where),
        _value(item, "is_completed", bool, where, False) if flags else False,
        _value(item, "needs_reason", bool, where, False) if flags else False,
    )


def _deadlines(raw: dict) -> dict[int, dt.date]:
    table = _value(raw, "deadlines", dict, "")
    deadlines = {}
    for quarter, day in table.items():
        if not quarter.isdigit():
            raise _FieldError(f"deadlines: quý {quarter!r} phải là số 1 đến 4")
        day = table[quarter]
        if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
            raise _FieldError(f"deadlines: hạn nộp quý {quarter} phải là {TYPE_VI[dt.date]}, không phải {_shown(day)}")
        deadlines[int(quarter)] = day
    return deadlines


def _labels(raw: dict, key: str) -> dict[str, str]:
    table = _value(raw, key, dict, "")
    for name in table:
        _value(table, name, str, key)
    return dict(table)


def _build(raw: dict, sha256: str) -> Programme:
    indicators = tuple(
        _indicator(item, position)
        for position, item in enumerate(_entries(raw, "indicators", "chỉ tiêu"), start=1)
    )
    headline = tuple(
        _headline(item, position)
        for position, item in enumerate(_entries(raw, "headline", "chỉ tiêu chính"), start=1)
    )
    comparisons = []
    for position, item in enumerate(_entries(raw, "comparisons", "so sánh", ()), start=1):
        where = f"so sánh thứ {position}"
        _no_unknown_keys(item, ("indicator", "at_most", "severity"), where)
        comparisons.append(Comparison(
            _value(item, "indicator", str, where), _value(item, "at_most", str, where),
            _value(item, "severity", str, where, "warning"),
        ))
    year = _value(raw, "year", int, "")
    programme = Programme(
        code=_value(raw, "code", str, ""),
        year=year,
        title_vi=_value(raw, "title_vi", str, ""),
        organisation_vi=_value(raw, "organisation_vi", str, ""),
        template_version=_value(raw, "template_version", str, ""),
        accepted_template_versions=_strings(raw, "accepted_template_versions", ""),
        deadlines=_deadlines(raw),
        groups=_labels(raw, "groups"),
        unit_types=_labels(raw, "unit_types"),
        task_sources=tuple(
            _choice(c, n, "nguồn nhiệm vụ", False)
            for n, c in enumerate(_entries(raw, "task_sources", "nguồn nhiệm vụ"), start=1)
        ),
        task_statuses=tuple(
            _choice(c, n, "trạng thái nhiệm vụ", True)
            for n, c in enumerate(_entries(raw, "task_statuses", "trạng thái nhiệm vụ"), start=1)
        ),
        indicators=indicators,
        headline=headline,
        comparisons=tuple(comparisons),
        publication=_publication(raw.get("publication")),
        contact_vi=str(raw.get("contact_vi", "")),
        source_sha256=sha256,
    )
    # After the entries, whose own mistakes ([indicators] with one bracket) say more than a key would.
    _no_unknown_keys(raw, TOP_KEYS, "tệp chương trình")
    return programme


def _publication(raw: dict | None) -> Publication | None:
    if raw is None:
        return None
    if isinstance(raw, dict):
        # A misspelt key is named as typed, before the field it leaves missing.
        _no_unknown_keys(raw, PUBLICATION_KEYS, "mục [publication]")
    missing = [name for name in (*PUBLICATION_FIELDS, "recipients") if name not in raw]
    if missing:
        raise KeyError(f"publication.{missing[0]}")
    values = {name: str(raw[name]).strip() for name in PUBLICATION_FIELDS}
    recipients = raw["recipients"]
    if not isinstance(recipients, list):
        raise TypeError("publication.recipients must be a list of strings")
    return Publication(
        **values,
        recipients=tuple(str(r).strip() for r in recipients),
        quarterly_chart_indicator=raw.get("quarterly_chart_indicator"),
    )


def _quarter_end(year: int, quarter: int) -> dt.date:
    after = dt.date(year + 1, 1, 1) if quarter == 4 else dt.date(year, 3 * quarter + 1, 1)
    return after - dt.timedelta(days=1)


def _check(p: Programme, path: Path) -> None:
    problems: list[str] = []
    if extra := sorted(set(p.deadlines) - {1, 2, 3, 4}):
        problems.append(f"deadlines: năm chỉ có quý 1 đến 4, không có quý {', '.join(map(str, extra))}")
    if missing := sorted({1, 2, 3, 4} - set(p.deadlines)):
        problems.append(f"deadlines phải ghi đủ hạn nộp của quý 1 đến 4 (còn thiếu quý {', '.join(map(str, missing))})")
    for quarter, deadline in sorted(p.deadlines.items()):
        if quarter not in (1, 2, 3, 4):
            continue
        ends = _quarter_end(p.year, quarter)
        if not ends < deadline <= ends + DEADLINE_AT_MOST_AFTER:
            problems.append(
                f"deadlines: hạn nộp quý {quarter} ({deadline:%d/%m/%Y}) phải sau ngày cuối quý {quarter}/{p.year} "
                f"({ends:%d/%m/%Y}) và không quá 3 tháng sau ngày đó (có nhầm năm, hoặc đảo ngày và tháng không?)"
            )
    if sorted(p.groups) != sorted(GROUPS):
        problems.append(f"groups phải gồm đúng các khối {', '.join(GROUPS)}")
    if p.template_version not in p.accepted_template_versions:
        problems.append("template_version phải nằm trong accepted_template_versions")
    codes = [i.code for i in p.indicators]
    for code in sorted({c for c in codes if codes.count(c) > 1}):
        problems.append(f"mã chỉ tiêu (code) {code!r} bị trùng: mỗi chỉ tiêu cần một mã riêng")
    metric_codes = [h.metric_code for h in p.headline]
    for code in sorted({c for c in metric_codes if metric_codes.count(c) > 1}):
        # Two headline rows of one code would be merged into one in the warehouse: a wrong headline.
        problems.append(f"mã chỉ tiêu chính (metric_code) {code!r} bị trùng: mỗi chỉ tiêu chính cần một mã riêng")
    for code in [*codes, *(h.metric_code for h in p.headline)]:
        if not CODE_PATTERN.match(code):
            problems.append(f"mã {code!r} chỉ được gồm chữ thường không dấu (lower-case), chữ số và dấu _")
    for ind in p.indicators:
        if not ind.label_vi.strip() or not ind.unit_vi.strip():
            # The template's row and the report's line would read as nothing.
            problems.append(f"chỉ tiêu {ind.code}: label_vi và unit_vi phải là một dòng chữ (tên chỉ tiêu, đơn vị tính)")
        if ind.group not in (*GROUPS, "all"):
            problems.append(f"chỉ tiêu {ind.code}: không có khối {ind.group!r}")
        if ind.aggregation not in AGGREGATIONS:
            problems.append(f"chỉ tiêu {ind.code}: không có cách tổng hợp {ind.aggregation!r}")
        if ind.aggregation == "weighted_mean":
            if not ind.weight:
                problems.append(f"chỉ tiêu {ind.code}: bình quân gia quyền (weighted_mean) cần trọng số: hãy ghi weight "
                                "là mã của chỉ tiêu dùng làm trọng số (ví dụ số lao động)")
            elif ind.weight not in codes:
                problems.append(f"chỉ tiêu {ind.code}: trọng số (weight) {ind.weight!r} không phải là một chỉ tiêu")
            elif p.indicator(ind.weight).group != ind.group:
                problems.append(f"chỉ tiêu {ind.code}: chỉ tiêu trọng số (weight) phải do cùng khối báo cáo")
        if ind.year_label_vi is not None and (not isinstance(ind.year_label_vi, str) or not ind.year_label_vi.strip()):
            problems.append(f"chỉ tiêu {ind.code}: year_label_vi phải là một dòng chữ")
        if ind.max_ratio_to_previous is not None and ind.max_ratio_to_previous <= 1:
            problems.append(f"chỉ tiêu {ind.code}: max_ratio_to_previous phải lớn hơn 1")
        if ind.plausible_min is not None and ind.plausible_max is not None and ind.plausible_min > ind.plausible_max:
            problems.append(
                f"chỉ tiêu {ind.code}: plausible_min ({ind.plausible_min:g}) lớn hơn plausible_max ({ind.plausible_max:g}); "
                "có đổi chỗ hai giá trị không?"
            )
    for c in p.comparisons:
        if c.indicator not in codes or c.at_most not in codes:
            problems.append(f"so sánh {c.indicator} <= {c.at_most}: không có chỉ tiêu này")
        elif (left := p.indicator(c.indicator).unit_vi) != (right := p.indicator(c.at_most).unit_vi):
            # "triệu đồng" against "tỷ đồng" would warn every unit: the numbers are not comparable.
            problems.append(
                f"so sánh {c.indicator} <= {c.at_most}: hai chỉ tiêu khác đơn vị tính ({left!r} và {right!r}), "
                "không so sánh được; hãy dùng cùng một đơn vị tính hoặc bỏ so sánh này"
            )
        if c.severity not in ("error", "warning"):
            problems.append(f"so sánh {c.indicator}: severity phải là error hoặc warning")
    sources = {c.code for c in p.task_sources}
    statuses = {c.code for c in p.task_statuses}
    if not any(c.is_completed for c in p.task_statuses):
        problems.append("phải có một trạng thái nhiệm vụ được đánh dấu is_completed")
    metrics = [h.metric_code for h in p.headline]
    for h in p.headline:
        if h.indicator and h.indicator not in codes:
            problems.append(f"chỉ tiêu chính {h.metric_code}: không có chỉ tiêu {h.indicator!r}")
        if h.indicator and (h.task_sources or h.task_statuses):
            problems.append(f"chỉ tiêu chính {h.metric_code}: chỉ tiêu lấy từ số liệu không nhận bộ lọc nhiệm vụ")
        if unknown := sorted(set(h.task_sources) - sources):
            problems.append(f"chỉ tiêu chính {h.metric_code}: không có nguồn nhiệm vụ {', '.join(map(repr, unknown))} "
                            f"(task_sources chỉ ghi: {', '.join(sorted(sources))})")
        if unknown := sorted(set(h.task_statuses) - statuses):
            problems.append(f"chỉ tiêu chính {h.metric_code}: không có trạng thái nhiệm vụ {', '.join(map(repr, unknown))} "
                            f"(task_statuses chỉ ghi: {', '.join(sorted(statuses))})")
        if h.plan_metric and h.plan_metric not in metrics:
            problems.append(f"chỉ tiêu chính {h.metric_code}: không có plan_metric {h.plan_metric!r}")
    if p.publication is not None:
        for name in PUBLICATION_FIELDS:
            if not getattr(p.publication, name):
                problems.append(f"publication.{name} không được để trống")
        if not p.publication.recipients or not all(p.publication.recipients):
            problems.append("publication.recipients phải có ít nhất một nơi nhận, không nơi nào để trống")
        chart = p.publication.quarterly_chart_indicator
        if chart is not None and chart not in codes:
            problems.append(f"publication.quarterly_chart_indicator: không có chỉ tiêu {chart!r}")
    if problems:
        raise ProgrammeError(f"{path}: " + "; ".join(problems))
