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


def load_programme(path: Path) -> Programme:
    """Read and check one programme file."""
    raw_bytes = Path(path).read_bytes()
    try:
        raw = tomllib.loads(raw_bytes.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProgrammeError(f"{path}: not a valid TOML programme file: {exc}") from exc
    try:
        programme = _build(raw, hashlib.sha256(raw_bytes).hexdigest())
    except (KeyError, TypeError) as exc:
        raise ProgrammeError(f"{path}: missing or malformed field {exc}") from exc
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
        raise ProgrammeError(f"no programme file for year {year} in {directory}")
    if len(found) > 1:
        raise ProgrammeError(f"more than one programme file for year {year} in {directory}")
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
        problems.append("deadlines must name quarters 1 to 4")
    if sorted(p.groups) != sorted(GROUPS):
        problems.append(f"groups must be exactly {GROUPS}")
    if p.template_version not in p.accepted_template_versions:
        problems.append("template_version must be one of accepted_template_versions")
    codes = [i.code for i in p.indicators]
    if len(set(codes)) != len(codes):
        problems.append("indicator codes must be unique")
    for code in [*codes, *(h.metric_code for h in p.headline)]:
        if not CODE_PATTERN.match(code):
            problems.append(f"code {code!r} must be lower-case letters, digits and _")
    for ind in p.indicators:
        if ind.group not in (*GROUPS, "all"):
            problems.append(f"indicator {ind.code}: unknown group {ind.group!r}")
        if ind.aggregation not in AGGREGATIONS:
            problems.append(f"indicator {ind.code}: unknown aggregation {ind.aggregation!r}")
        if ind.aggregation == "weighted_mean":
            if ind.weight not in codes:
                problems.append(f"indicator {ind.code}: weight {ind.weight!r} is not an indicator")
            elif p.indicator(ind.weight).group != ind.group:
                problems.append(f"indicator {ind.code}: weight must be reported by the same group")
        if ind.max_ratio_to_previous is not None and ind.max_ratio_to_previous <= 1:
            problems.append(f"indicator {ind.code}: max_ratio_to_previous must be above 1")
    for c in p.comparisons:
        if c.indicator not in codes or c.at_most not in codes:
            problems.append(f"comparison {c.indicator} <= {c.at_most}: unknown indicator")
        if c.severity not in ("error", "warning"):
            problems.append(f"comparison {c.indicator}: severity must be error or warning")
    sources = {c.code for c in p.task_sources}
    statuses = {c.code for c in p.task_statuses}
    if not any(c.is_completed for c in p.task_statuses):
        problems.append("one task status must be marked is_completed")
    metrics = [h.metric_code for h in p.headline]
    for h in p.headline:
        if h.indicator and h.indicator not in codes:
            problems.append(f"headline {h.metric_code}: unknown indicator {h.indicator!r}")
        if h.indicator and (h.task_sources or h.task_statuses):
            problems.append(f"headline {h.metric_code}: an indicator metric takes no task filter")
        if set(h.task_sources) - sources or set(h.task_statuses) - statuses:
            problems.append(f"headline {h.metric_code}: unknown task source or status")
        if h.plan_metric and h.plan_metric not in metrics:
            problems.append(f"headline {h.metric_code}: unknown plan_metric {h.plan_metric!r}")
    if p.publication is not None:
        for name in PUBLICATION_FIELDS:
            if not getattr(p.publication, name):
                problems.append(f"publication.{name} must not be empty")
        if not p.publication.recipients or not all(p.publication.recipients):
            problems.append("publication.recipients must list at least one recipient, none empty")
        chart = p.publication.quarterly_chart_indicator
        if chart is not None and chart not in codes:
            problems.append(f"publication.quarterly_chart_indicator: unknown indicator {chart!r}")
    if problems:
        raise ProgrammeError(f"{path}: " + "; ".join(problems))
