"""Checking files before sending them (DHIS2's dry run): the collect flow's rules, no writes."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from expectations.cross_quarter import History
from expectations.gate import check_batch
from reporting.findings import ERROR, Finding, reading_order, status_for
from reporting.frames import ParsedBatch
from reporting.periods import Period
from reporting.programme import ProgrammeError, programme_for_year
from reporting.units import load_registry
from tasks.workbook_reader import read_workbooks
from warehouse.engine import URL_ENV, warehouse_url
from warehouse.queries import earlier_quarters


@dataclass
class FileVerdict:
    path: Path
    status: str
    period: Period | None = None
    unit_code: str | None = None
    findings: list[Finding] = field(default_factory=list)


@dataclass
class CheckReport:
    verdicts: list[FileVerdict]
    notes: list[str]


def check_files(paths: list[Path], data_dir: Path, year: int | None = None, quarter: int | None = None) -> CheckReport:
    """Check files as the collect flow would; earlier quarters come from the warehouse if one exists."""
    given = Period(year, quarter) if year is not None and quarter is not None else None
    ids = [str(n) for n in range(len(paths))]
    parsed = read_workbooks(list(zip(ids, paths)), workers=1)
    registry = load_registry()
    periods = {sid: given or _period_in_file(parsed.info, sid) for sid in ids}
    notes: list[str] = []
    verdicts: dict[str, FileVerdict] = {}
    for period in sorted({p for p in periods.values() if p}, key=lambda p: (p.year, p.quarter)):
        mine = [sid for sid in ids if periods[sid] == period]
        try:
            programme = programme_for_year(period.year)
        except ProgrammeError:
            for sid in mine:
                verdicts[sid] = FileVerdict(paths[int(sid)], "rejected", period, None, [Finding(
                    sid, "identity.no_programme", ERROR, None, None, str(period.year),
                    f"Chưa có chương trình báo cáo cho năm {period.year}: hãy kiểm tra năm trên tệp mẫu.",
                )])
            continue
        history, note = _history(data_dir, period)
        if note:
            notes.append(note)
        checked = check_batch(_subset(parsed, mine), mine, programme, registry, period, history,
                              file_names={sid: paths[int(sid)].name for sid in mine})
        for sid in mine:
            verdicts[sid] = FileVerdict(
                paths[int(sid)], checked.status[sid], period, checked.unit_code.get(sid),
                sorted((f for f in checked.findings if f.submission_id == sid), key=reading_order),
            )
    for sid in ids:
        if sid not in verdicts:
            found = [f for f in parsed.problems if f.submission_id == sid] or [Finding(
                sid, "identity.period_missing", ERROR, None, None, None,
                "Không xác định được năm và quý báo cáo trong tệp: hãy dùng đúng tệp mẫu đã được cấp.",
            )]
            # A file refused unread whose template identity is intact is named by its unit, as collect does.
            verdicts[sid] = FileVerdict(paths[int(sid)], status_for(found), None, parsed.attributed.get(sid), found)
    return CheckReport([verdicts[sid] for sid in ids], notes)


def _period_in_file(info: pd.DataFrame, sid: str) -> Period | None:
    row = info[info["submission_id"] == sid]
    if row.empty:
        return None
    year, quarter = row.iloc[0]["year"], row.iloc[0]["quarter"]
    try:
        return Period(int(year), int(quarter))
    except (TypeError, ValueError):
        return None


def _subset(parsed: ParsedBatch, ids: list[str]) -> ParsedBatch:
    keep = set(ids)
    return ParsedBatch(
        info=parsed.info[parsed.info["submission_id"].isin(keep)],
        indicators=parsed.indicators[parsed.indicators["submission_id"].isin(keep)],
        tasks=parsed.tasks[parsed.tasks["submission_id"].isin(keep)],
        headers=parsed.headers[parsed.headers["submission_id"].isin(keep)],
        locked=parsed.locked[parsed.locked["submission_id"].isin(keep)],
        summary=parsed.summary[parsed.summary["submission_id"].isin(keep)],
        problems=[f for f in parsed.problems if f.submission_id in keep],
        attributed={sid: code for sid, code in parsed.attributed.items() if sid in keep},
    )


def _history(data_dir: Path, period: Period) -> tuple[History | None, str | None]:
    """Earlier quarters from the warehouse, read-only; none (with a note) when there is none."""
    skipped = "không có kho dữ liệu nên bỏ qua các kiểm tra so với quý trước"
    url = warehouse_url(data_dir)
    parsed_url = make_url(url)
    if parsed_url.get_backend_name() == "sqlite":
        if not os.environ.get(URL_ENV) and not (data_dir / "warehouse.db").exists():
            return None, f"{period.label_vi}: {skipped}."
        url = f"sqlite:///file:{Path(parsed_url.database).resolve()}?mode=ro&uri=true"
    try:
        return _history_from(url, period, skipped)
    except OperationalError:
        if parsed_url.get_backend_name() != "sqlite":
            raise
    # A warehouse in WAL mode on a read-only disk opens only as immutable: nothing writes it there.
    try:
        return _history_from(url + "&immutable=1", period, skipped)
    except OperationalError:
        return None, f"{period.label_vi}: không đọc được kho dữ liệu {parsed_url.database} nên bỏ qua các kiểm tra so với quý trước."


def _history_from(url: str, period: Period, skipped: str) -> tuple[History | None, str | None]:
    engine = create_engine(url)
    try:
        if "v_current_submission" not in inspect(engine).get_view_names():
            return None, f"{period.label_vi}: {skipped}."
        indicators, tasks = earlier_quarters(engine, period.year, period.quarter)
        return History(indicators=indicators, tasks=tasks), None
    finally:
        engine.dispose()
