"""The programme of a reporting year, read from its declarative file in `programmes/`."""

from __future__ import annotations

import datetime as dt
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
        """One number format per indicator across a report: its headline's decimals, else its own."""
        for h in self.headline:
            if h.indicator == indicator_code:
                return h.display_decimals
        return self.indicator(indicator_code).decimals

    def source_by_label(self) -> dict[str, str]:
        return {c.label_vi: c.code for c in self.task_sources}

    def status_by_label(self) -> dict[str, str]:
        return {c.label_vi: c.code for c in self.task_statuses}


class NoProgramme(ProgrammeError):
    """No programme file for the year asked about."""


def _toml_problem_vi(exc: Exception) -> str:
    """Where a programme file stops being TOML, in Vietnamese: the line and column the parser names."""
    if isinstance(exc, UnicodeDecodeError):
        return "tệp không được lưu ở mã UTF-8"
    found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
    return f"lỗi cú pháp ở dòng {found.group(1)}, cột {found.group(2)}" if found else "lỗi cú pháp"


def load_programme(path: Path) -> Programme:
    """Read and check one programme file."""
    raw_bytes = Path(path).read_bytes()
    try:
        raw = tomllib.loads(raw_bytes.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProgrammeError(f"{path}: không phải tệp TOML hợp lệ ({_toml_problem_vi(exc)})") from exc
    try:
        programme = _build(raw, hashlib.sha256(raw_bytes).hexdigest())
    except (KeyError, TypeError) as exc:
        raise ProgrammeError(f"{path}: thiếu hoặc sai trường {exc}") from exc
    _check(programme, path)
    return programme


def programmes_dir() -> Path:
    """Where the programme files and the unit registry live: $P135_PROGRAMMES_DIR or programmes/."""
    return Path(os.environ.get(PROGRAMMES_ENV) or PROGRAMMES_DIR)


def all_programmes() -> list[Programme]:
    return [load_programme(p) for p in sorted(programmes_dir().glob("*.toml"))]


def programme_for_year(year: int, directory: Path | None = None) -> Programme:
    """Find the programme file whose `year` is the given one."""
    directory = Path(directory) if directory else programmes_dir()
    found = []
    for path in sorted(directory.glob("*.toml")):
        programme = load_programme(path)
        if programme.year == year:
            found.append(programme)
    if not found:
        raise NoProgramme(f"không có tệp chương trình báo cáo cho năm {year} trong {directory}")
    if len(found) > 1:
        raise ProgrammeError(f"có nhiều hơn một tệp chương trình báo cáo cho năm {year} trong {directory}")
    return found[0]


def _build(raw: dict, sha256: str) -> Programme:
    indicators = tuple(
        Indicator(
            code=item["code"],
            label_vi=item["label_vi"],
            unit_vi=item["unit_vi"],
            group=item["group"],
            aggregation=item["aggregation"],
            position=position,
            weight=item.get("weight"),
            has_plan=bool(item.get("has_plan", False)),
            decimals=int(item.get("decimals", 0)),
            signed=bool(item.get("signed", False)),
            plausible_min=_optional_float(item.get("plausible_min")),
            plausible_max=_optional_float(item.get("plausible_max")),
            max_ratio_to_previous=_optional_float(item.get("max_ratio_to_previous")),
            year_label_vi=item.get("year_label_vi"),
        )
        for position, item in enumerate(raw["indicators"], start=1)
    )
    headline = tuple(
        HeadlineMetric(
            metric_code=item["metric_code"],
            label_vi=item["label_vi"],
            display_unit_vi=item["display_unit_vi"],
            display_decimals=int(item.get("display_decimals", 0)),
            position=position,
            indicator=item.get("indicator"),
            task_sources=tuple(item.get("task_sources", ())),
            task_statuses=tuple(item.get("task_statuses", ())),
            plan_metric=item.get("plan_metric"),
        )
        for position, item in enumerate(raw["headline"], start=1)
    )
    return Programme(
        code=raw["code"],
        year=int(raw["year"]),
        title_vi=raw["title_vi"],
        organisation_vi=raw["organisation_vi"],
        template_version=raw["template_version"],
        accepted_template_versions=tuple(raw["accepted_template_versions"]),
        deadlines={int(q): d for q, d in raw["deadlines"].items()},
        groups=dict(raw["groups"]),
        unit_types=dict(raw["unit_types"]),
        task_sources=tuple(Choice(c["code"], c["label_vi"]) for c in raw["task_sources"]),
        task_statuses=tuple(
            Choice(c["code"], c["label_vi"], bool(c.get("is_completed", False)), bool(c.get("needs_reason", False)))
            for c in raw["task_statuses"]
        ),
        indicators=indicators,
        headline=headline,
        comparisons=tuple(
            Comparison(c["indicator"], c["at_most"], c.get("severity", "warning"))
            for c in raw.get("comparisons", ())
        ),
        publication=_publication(raw.get("publication")),
        contact_vi=str(raw.get("contact_vi", "")),
        source_sha256=sha256,
    )


def _publication(raw: dict | None) -> Publication | None:
    if raw is None:
        return None
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


def _optional_float(value) -> float | None:
    return None if value is None else float(value)


def _check(p: Programme, path: Path) -> None:
    problems: list[str] = []
    if sorted(p.deadlines) != [1, 2, 3, 4]:
        problems.append("deadlines phải ghi đủ hạn nộp của quý 1 đến 4")
    if sorted(p.groups) != sorted(GROUPS):
        problems.append(f"groups phải gồm đúng các khối {', '.join(GROUPS)}")
    if p.template_version not in p.accepted_template_versions:
        problems.append("template_version phải nằm trong accepted_template_versions")
    codes = [i.code for i in p.indicators]
    if len(set(codes)) != len(codes):
        problems.append("mã chỉ tiêu (code) bị trùng")
    for code in [*codes, *(h.metric_code for h in p.headline)]:
        if not CODE_PATTERN.match(code):
            problems.append(f"mã {code!r} chỉ được gồm chữ thường không dấu (lower-case), chữ số và dấu _")
    for ind in p.indicators:
        if ind.group not in (*GROUPS, "all"):
            problems.append(f"chỉ tiêu {ind.code}: không có khối {ind.group!r} (unknown group)")
        if ind.aggregation not in AGGREGATIONS:
            problems.append(f"chỉ tiêu {ind.code}: không có cách tổng hợp {ind.aggregation!r} (unknown aggregation)")
        if ind.aggregation == "weighted_mean":
            if ind.weight not in codes:
                problems.append(f"chỉ tiêu {ind.code}: trọng số (weight) {ind.weight!r} không phải là một chỉ tiêu")
            elif p.indicator(ind.weight).group != ind.group:
                problems.append(f"chỉ tiêu {ind.code}: chỉ tiêu trọng số (weight) phải do cùng khối báo cáo")
        if ind.year_label_vi is not None and (not isinstance(ind.year_label_vi, str) or not ind.year_label_vi.strip()):
            problems.append(f"chỉ tiêu {ind.code}: year_label_vi phải là một dòng chữ")
        if ind.max_ratio_to_previous is not None and ind.max_ratio_to_previous <= 1:
            problems.append(f"chỉ tiêu {ind.code}: max_ratio_to_previous phải lớn hơn 1")
    for c in p.comparisons:
        if c.indicator not in codes or c.at_most not in codes:
            problems.append(f"so sánh {c.indicator} <= {c.at_most}: không có chỉ tiêu này")
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
        if set(h.task_sources) - sources or set(h.task_statuses) - statuses:
            problems.append(f"chỉ tiêu chính {h.metric_code}: không có nguồn hoặc trạng thái nhiệm vụ đã ghi (unknown task source or status)")
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
