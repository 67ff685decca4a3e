"""The steps of publishing a year: read the views, decide the version, write the document, the
workbook and the PDF, record the snapshot, and make the newest files the un-suffixed ones."""

from __future__ import annotations

import datetime as dt
import filecmp
import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from reporting.narrative import Activity, coverage_note, narrative
from reporting.periods import LOCAL_TZ, ROMAN, Period
from reporting.programme import Programme
from reporting.units import load_registry
from reporting.versions import basis_sha256
from tasks.pdf_export import PDF_OFF_VI, PdfOutcome, convert_to_pdf, pdf_switched_off, soffice_path
from tasks.report import WorkbookFigures, report_file_name, write_report
from tasks.report_chart import ChartData, draw_chart
from tasks.report_document import DocumentContent, build_document, save_document
from warehouse import queries
from warehouse.engine import engine_for
from warehouse.publications import (
    OfficialFigures,
    PublishedVersion,
    latest_publication,
    official_figures,
    record_publication,
)
from warehouse.roles import missing_temporary_privilege

SUFFIXES = (".docx", ".xlsx", ".pdf")


@dataclass
class YearFigures:
    headline: pd.DataFrame
    workbook: WorkbookFigures
    # The year before's latest official version, which the report compares with (None when none).
    previous_year: OfficialFigures | None = None

    @property
    def sources(self) -> pd.DataFrame:
        return self.workbook.sources

    @property
    def is_empty(self) -> bool:
        return self.sources.empty


@dataclass(frozen=True)
class ReportFiles:
    """One version's files; `pdf` is None when LibreOffice could not make it."""

    docx: Path
    xlsx: Path
    pdf: Path | None = None
    pdf_note: str | None = None
    # Why the un-suffixed names could not be made this version's (Vietnamese), when they could not.
    not_promoted: str | None = None

    def sha256(self) -> dict[str, str | None]:
        return {
            "docx_sha256": file_sha256(self.docx),
            "xlsx_sha256": file_sha256(self.xlsx),
            "pdf_sha256": file_sha256(self.pdf) if self.pdf else None,
        }


@dataclass(frozen=True)
class Decision:
    """Whether this publish makes a new version, and which."""

    basis_sha256: str
    previous: PublishedVersion | None
    version: int
    is_new: bool
    published_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).replace(microsecond=0))
    # The date the document bears when one was given (p135 publish --date).
    document_date: dt.date | None = None

    def dated(self) -> dt.date:
        """The date the version's document and workbook bear: the one given, else today (local time)."""
        return self.document_date or self.published_at.astimezone(LOCAL_TZ).date()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def quarterly_indicator(programme: Programme) -> str | None:
    """The flow drawn by quarter: the programme's choice, else its first summed headline indicator."""
    if programme.publication and programme.publication.quarterly_chart_indicator:
        return programme.publication.quarterly_chart_indicator
    for h in programme.headline:
        if h.indicator and programme.indicator(h.indicator).aggregation == "sum":
            return h.indicator
    return None


@task(cache_policy=NO_CACHE)
def check_publish_rights(data_dir: Path) -> str | None:
    """Why p135's login cannot publish from this warehouse, in Vietnamese; None when it can."""
    missing = missing_temporary_privilege(engine_for(data_dir))
    if missing is None:
        return None
    user, database = missing
    return (f"Tài khoản PostgreSQL «{user}» của p135 không được tạo bảng tạm trong cơ sở dữ liệu «{database}» "
            "(quyền TEMPORARY), mà công bố cần bảng tạm để tổng hợp số liệu cả năm. Người quản trị cơ sở dữ liệu "
            f"cấp quyền bằng: GRANT TEMPORARY ON DATABASE \"{database}\" TO \"{user}\"; rồi chạy lại.")


@task(cache_policy=NO_CACHE)
def fetch_year_figures(data_dir: Path, year: int, programme: Programme) -> YearFigures:
    """Read the year's headline, breakdowns, provenance and findings from the analyst views."""
    engine = engine_for(data_dir)
    chart_code = quarterly_indicator(programme)
    year_figures = queries.year_aggregates(engine, year)
    headline = year_figures["headline"]
    return YearFigures(
        headline=headline,
        workbook=WorkbookFigures(
            headline=headline.copy(),
            groups=year_figures["groups"],
            group_tasks=year_figures["group_tasks"],
            tasks_by_source=year_figures["tasks_by_source"],
            bloc=year_figures["bloc"],
            enterprises=year_figures["enterprises"],
            quarterly=queries.quarter_totals(engine, year, chart_code) if chart_code else pd.DataFrame(),
            sources=queries.sources_used(engine, year),
            lineage=queries.unit_year(engine, year),
            in_force=queries.units_in_force(engine, year),
            findings=queries.open_findings(engine, year),
            quarterly_indicator=chart_code,
        ),
        previous_year=official_figures(engine, year - 1),
    )


def headline_records(figures: YearFigures) -> list[dict]:
    """Headline rows as plain Python values (floats, not Decimals)."""
    rows = []
    for r in figures.headline.to_dict("records"):
        rows.append({
            k: (None if v is None or (isinstance(v, float) and pd.isna(v)) else
                float(v) if k in ("value", "plan", "pct_of_plan") else
                int(v) if k in ("year", "display_decimals", "position") else v)
            for k, v in r.items()
        })
    return rows


def submissions_used(figures: YearFigures) -> list[tuple[str, int, str]]:
    """(unit, quarter, file sha256) of every submission the figures were made from, column-wise
    (a quarter of a million rows at national volume)."""
    sources = figures.sources
    quarters = sources["quarter"].astype(int).tolist()
    return list(zip(sources["unit_code"].tolist(), quarters, sources["file_sha256"].tolist()))


@task(cache_policy=NO_CACHE)
def decide_version(
    data_dir: Path, programme: Programme, figures: YearFigures, quarters_not_approved: tuple[int, ...] = (),
) -> Decision:
    """Same basis as the latest version: keep it; otherwise the next version number."""
    compared = compared_with(figures)
    basis = basis_sha256(programme.source_sha256, submissions_used(figures), quarters_not_approved,
                         load_registry().year_sha256(programme.year),
                         f"{compared.year}:v{compared.version}" if compared else None)
    previous = latest_publication(engine_for(data_dir), programme.year)
    if previous is not None and previous.basis_sha256 == basis:
        return Decision(basis, previous, previous.version, is_new=False)
    return Decision(basis, previous, (previous.version + 1) if previous else 1, is_new=True)


# A year whose every quarter has reports from at least this share of the units due is compared
# with the year before; one with a quarter further short is not (7 units against 72 read
# "giảm 83,0% so với năm 2023").
COMPARABLE_SHARE = 0.9


def compared_with(figures: YearFigures) -> OfficialFigures | None:
    """The year before's official version a report of the whole year compares with (a mid-year
    draft, or a year with a quarter short of reports, compares nothing): part of the version's
    basis, so a new official figure for the year before makes a new version, not a report with a
    stale "so với năm …"."""
    if reported_through(figures) not in (None, 4):
        return None
    coverage = quarter_coverage(figures)
    if any(reported < COMPARABLE_SHARE * due for reported, due in coverage.values()):
        return None
    return figures.previous_year


def latest_official(data_dir: Path, year: int) -> PublishedVersion | None:
    """The year's latest official version (the one issued), with its figures; None if none."""
    return latest_publication(engine_for(data_dir), year, official=True)


def version_reasons(
    programme: Programme, figures: YearFigures, previous: PublishedVersion | None, quarters_not_approved: tuple[int, ...] = (),
) -> list[str]:
    """Why the basis changed since the previous version, in Vietnamese."""
    if previous is None:
        return []
    reasons = []
    used = set(submissions_used(figures))
    before = set(previous.submissions)
    if used != before:
        replaced = len({(u, q) for u, q, _ in used ^ before})
        reasons.append(f"{replaced} báo cáo quý được gửi mới hoặc thay thế")
    if programme.source_sha256 != previous.programme_sha256:
        reasons.append("tệp chương trình đã thay đổi")
    if approved := sorted(set(previous.draft_quarters) - set(quarters_not_approved)):
        labels = ", ".join(Period(programme.year, q).label_vi for q in approved)
        reasons.append(f"đã phê duyệt {labels}" + ("" if quarters_not_approved else ": đây là bản chính thức"))
    if reopened := sorted(set(quarters_not_approved) - set(previous.draft_quarters)):
        reasons.append("đã mở lại " + ", ".join(Period(programme.year, q).label_vi for q in reopened))
    if (compared := compared_with(figures)) and compared.published_at > previous.published_at:
        reasons.append(f"báo cáo chính thức năm {compared.year} có phiên bản mới (phiên bản {compared.version}), "
                       "số liệu so sánh thay đổi theo")
    if not reasons and tuple(sorted(previous.draft_quarters)) == tuple(sorted(quarters_not_approved)):
        # Nothing else of the basis moved: the unit registry did, for this year (a successor, a group,
        # a unit's dates or name).
        reasons.append(f"danh sách đơn vị (units.csv) đã thay đổi đối với năm {programme.year}")
    return reasons


def party_activities(programme: Programme, figures: YearFigures) -> list[Activity]:
    """The bloc's year figure of each indicator every unit reports (party building)."""
    bloc = {r["indicator_code"]: r for r in figures.workbook.bloc.to_dict("records")}
    # One the headline already states is not said again among the activities.
    headline = {h.indicator for h in programme.headline if h.indicator}
    out = []
    for ind in programme.indicators:
        if ind.group != "all" or ind.code not in bloc or ind.code in headline:
            continue
        r = bloc[ind.code]
        value = None if pd.isna(r["value"]) else float(r["value"])
        plan = None if r["plan_value"] is None or pd.isna(r["plan_value"]) else float(r["plan_value"])
        # Before the year has ended, a stock is the last quarter's: "cuối quý", not "cuối năm".
        label = ind.year_label if reported_through(figures) in (None, 4) else ind.label_vi
        out.append(Activity(label, value, plan, ind.unit_vi, programme.display_decimals(ind.code)))
    return out


def quarter_coverage(figures: YearFigures) -> dict[int, tuple[int, int]]:
    """Each quarter's (units due that have an accepted report, units due to report)."""
    due: dict[int, set[str]] = {q: set() for q in (1, 2, 3, 4)}
    in_force = figures.workbook.in_force
    for code, quarter in zip(in_force["unit_code"].tolist(), in_force["quarter"].astype(int).tolist()):
        due[quarter].add(code)
    used = set(zip(figures.sources["unit_code"].tolist(), figures.sources["quarter"].astype(int).tolist()))
    return {q: (sum((code, q) in used for code in codes), len(codes)) for q, codes in due.items() if codes}


def year_coverage_note(programme: Programme, figures: YearFigures) -> str | None:
    """What the year's figures lack (None when every unit due reported every quarter)."""
    return coverage_note(programme.year, quarter_coverage(figures))


def reported_through(figures: YearFigures) -> int | None:
    """The last quarter of the year any report was accepted for (None when there is none)."""
    quarters = figures.sources["quarter"].astype(int)
    return int(quarters.max()) if len(quarters) else None


def report_paragraphs(programme: Programme, figures: YearFigures, headline: list[dict]) -> list[str]:
    return narrative(
        programme, headline, party_activities(programme, figures),
        units_reporting=figures.sources["unit_code"].nunique(),
        coverage=year_coverage_note(programme, figures),
        through_quarter=reported_through(figures),
        previous_year=compared.values if (compared := compared_with(figures)) else None,
    )


def chart_data(programme: Programme, figures: YearFigures, headline: list[dict]) -> ChartData:
    code = figures.workbook.quarterly_indicator
    quarterly = figures.workbook.quarterly
    ind = programme.indicator(code) if code else None
    planned = [r for r in headline if r.get("pct_of_plan") is not None]
    return ChartData(
        quarter_title=f"{ind.label_vi} theo quý năm {programme.year} ({ind.unit_vi})" if ind else "",
        quarter_labels=[f"Quý {ROMAN[int(q)]}" for q in quarterly.get("quarter", [])] if ind else [],
        quarter_values=[float(v) for v in quarterly.get("value", [])] if ind else [],
        quarter_decimals=programme.display_decimals(code) if code else 0,
        plan_title=f"Mức thực hiện so với kế hoạch năm {programme.year}",
        plan_labels=[r["label_vi"] for r in planned],
        plan_percents=[float(r["pct_of_plan"]) for r in planned],
    )


@task(cache_policy=NO_CACHE)
def write_report_files(
    programme: Programme,
    figures: YearFigures,
    headline: list[dict],
    decision: Decision,
    changes: list[str],
    out_dir: Path,
    quarters_not_approved: tuple[int, ...] = (),
) -> ReportFiles:
    """Write this version's document and workbook under their -v<n> names."""
    year, version = programme.year, decision.version
    xlsx = write_report(
        programme, figures.workbook, out_dir / report_file_name(year, version), decision.published_at,
        version=version, quarters_not_approved=quarters_not_approved, dated=decision.dated(),
    )
    content = DocumentContent(
        headline=headline,
        paragraphs=report_paragraphs(programme, figures, headline),
        chart_png=draw_chart(chart_data(programme, figures, headline)),
        published_at=decision.published_at,
        dated=decision.dated(),
        version=version,
        changes=changes,
        units_count=figures.sources["unit_code"].nunique(),
        workbook_name=report_file_name(year, version),
    )
    document = build_document(programme, content, quarters_not_approved=quarters_not_approved)
    docx = save_document(document, out_dir / report_file_name(year, version, ".docx"))
    return ReportFiles(docx=docx, xlsx=xlsx)


@task(cache_policy=NO_CACHE)
def convert_report_to_pdf(files: ReportFiles) -> ReportFiles:
    """The PDF of the document by LibreOffice; without it, the reason in Vietnamese."""
    if pdf_switched_off():
        return ReportFiles(files.docx, files.xlsx, None, PDF_OFF_VI)
    outcome: PdfOutcome = convert_to_pdf(files.docx, files.docx.with_suffix(".pdf"), soffice_path())
    if outcome.path is None:
        # The command prints the reason in Vietnamese; the run's log keeps this line for engineers.
        get_run_logger().warning("No PDF: %s", outcome.note_vi, extra={"p135_per_file": True})
    return ReportFiles(files.docx, files.xlsx, outcome.path, outcome.note_vi)


@task(cache_policy=NO_CACHE)
def record_version(
    data_dir: Path,
    programme: Programme,
    decision: Decision,
    files: ReportFiles,
    headline: list[dict],
    figures: YearFigures,
    quarters_not_approved: tuple[int, ...] = (),
) -> int:
    """Store the immutable snapshot: files' sha256, every headline figure, the submissions used."""
    publication = {
        "year": programme.year,
        "version": decision.version,
        "programme_code": programme.code,
        "programme_sha256": programme.source_sha256,
        "published_at": decision.published_at,
        "basis_sha256": decision.basis_sha256,
        "draft_quarters": tuple(quarters_not_approved),
        "file_stem": files.docx.stem,
        "document_number": None if quarters_not_approved else programme.publication.document_number,
        "document_date": decision.document_date,
        **files.sha256(),
    }
    keep = ("metric_code", "label_vi", "value", "plan", "pct_of_plan", "display_unit_vi", "display_decimals", "position")
    rows = [{k: r.get(k) for k in keep} for r in headline]
    sources = figures.sources
    # Column-wise: a national year uses a quarter of a million submissions.
    submissions = [
        {"submission_id": s, "unit_code": u, "quarter": q, "version": v, "file_sha256": f}
        for s, u, q, v, f in zip(
            sources["submission_id"].astype(int).tolist(), sources["unit_code"].tolist(),
            sources["quarter"].astype(int).tolist(), sources["version"].astype(int).tolist(),
            sources["file_sha256"].tolist(),
        )
    ]
    return record_publication(engine_for(data_dir), publication, rows, submissions)


@task(cache_policy=NO_CACHE)
def promote_latest(files: ReportFiles, out_dir: Path, year: int, version: int) -> ReportFiles:
    """Copy this version's files to the un-suffixed names; an older PDF never passes for this one."""
    sources = dict(zip(SUFFIXES, (files.docx, files.xlsx, files.pdf)))
    problem = _make_latest(out_dir, year, version, sources)
    if problem:
        return ReportFiles(files.docx, files.xlsx, files.pdf, files.pdf_note, not_promoted=problem)
    latest = {suffix: out_dir / report_file_name(year, None, suffix) if source else None
              for suffix, source in sources.items()}
    return ReportFiles(latest[".docx"], latest[".xlsx"], latest[".pdf"], files.pdf_note)


def latest_files(out_dir: Path, year: int, version: int) -> ReportFiles:
    """The un-suffixed files of the latest version; one deleted by hand, or left from another version
    by a publish that could not replace it, is copied again from its -v<n> file (never regenerated:
    the published bytes stay the published bytes)."""
    kept = {suffix: out_dir / report_file_name(year, version, suffix) for suffix in SUFFIXES}
    sources = {suffix: path if path.is_file() else None for suffix, path in kept.items()}
    problem = _make_latest(out_dir, year, version, sources, only_differing=True)
    found = {suffix: out_dir / report_file_name(year, None, suffix) for suffix in SUFFIXES}
    found = {suffix: path if path.is_file() else None for suffix, path in found.items()}
    return ReportFiles(found[".docx"], found[".xlsx"], found[".pdf"], not_promoted=problem)


def _make_latest(out_dir: Path, year: int, version: int, sources: dict[str, Path | None],
                 only_differing: bool = False) -> str | None:
    """Make the un-suffixed files copies of `sources` (one missing: none under that name, unless only
    the differing ones are made again). Every copy is written beside its name before any is renamed
    into place, so a full disk leaves the earlier set whole; a file that refuses to be replaced (held
    open, locked) can leave a mixed set, which the next publish mends. The reason is returned in
    Vietnamese, None when all were made."""
    from tasks.preflight import os_reason

    staged: list[tuple[Path, Path]] = []
    target = out_dir
    try:
        for suffix, source in sources.items():
            target = out_dir / report_file_name(year, None, suffix)
            target.with_name(target.name + ".tmp").unlink(missing_ok=True)
            if source is None:
                continue
            if only_differing and target.is_file() and filecmp.cmp(source, target, shallow=False):
                continue
            tmp = target.with_name(target.name + ".tmp")
            shutil.copyfile(source, tmp)
            staged.append((tmp, target))
        for suffix, source in sources.items():
            target = out_dir / report_file_name(year, None, suffix)
            if source is None and not only_differing:
                target.unlink(missing_ok=True)
        for tmp, target in staged:
            tmp.replace(target)
    except OSError as exc:
        for tmp, _ in staged:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
        stem = report_file_name(year, None, "")
        return (
            f"Không thay được tệp {target.name} trong {out_dir} ({os_reason(exc)}): các tệp {stem}.docx/.xlsx/.pdf có "
            f"thể chưa phải phiên bản {version}, đừng gửi chúng. Phiên bản {version} đã được ghi đủ ở các tệp "
            f"{report_file_name(year, version, '')}.*. Hãy gỡ khóa hoặc cấp quyền ghi cho tệp ấy (đóng chương trình "
            f"đang mở nó) rồi chạy lại p135 publish --year {year}."
        )
    return None
