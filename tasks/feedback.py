"""Feedback for the unit clerk: one workbook per unit and quarter saying what to fix, and where."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Date, DateTime, String, bindparam, text

from expectations.gate import CheckedBatch
from reporting.findings import (
    ERROR,
    FILE_NAME_OTHER_UNIT,
    NO_REPORT_DUE_RULES,
    STATUS_VI,
    WRONG_TEMPLATE_RULES,
    Finding,
    reading_order,
)
from reporting.periods import LOCAL_TZ, Period
from reporting.programme import Programme
from reporting.units import Registry, UnitVersion
from tasks.feedback_writer import DEFAULT_WORKERS, VERDICT_LABEL, FeedbackJob, place_all
from tasks.feedback_writer import HEADER_ROW as HEADER_ROW
from tasks.feedback_writer import SHEET as SHEET
from tasks.intake import PARTIAL_PREFIX, remove_dead_partials
from warehouse.engine import engine_for
from warehouse.feedback_log import Placed, feedback_in_place, feedback_sources, findings_of, record_feedback
from warehouse.load import Arrival, Guard

NEXT_STEP_VI = {
    "accepted": "Báo cáo đã được tiếp nhận, không có lỗi.",
    "accepted_with_warnings": "Báo cáo đã được tiếp nhận. Đề nghị xem lại các cảnh báo dưới đây; "
    "nếu số liệu đúng thì không cần gửi lại.",
    "rejected": "Báo cáo CHƯA được tiếp nhận. Sửa các lỗi dưới đây ngay trong tệp đã gửi, lưu lại "
    "và gửi lại trước hạn nộp.",
    "held": "Kỳ báo cáo đã được phê duyệt và khóa sổ: tệp đã được lưu và kiểm tra nhưng CHƯA được đưa "
    "vào số liệu tổng hợp. Nếu cần sửa số liệu của kỳ này, hãy liên hệ văn phòng Đảng ủy Khối.",
}
SEVERITY_VI = {"error": "Lỗi", "warning": "Cảnh báo"}
# Unit codes bound in one query: well under SQLite's limit on bound parameters, whatever the batch size.
CODES_PER_QUERY = 5000


def feedback_name(unit_code: str | None, sha256: str) -> str:
    return f"{unit_code}.xlsx" if unit_code else f"khong-ro-don-vi_{sha256[:12]}.xlsx"


def feedback_job(
    path: Path,
    programme: Programme,
    period: Period,
    unit_label: str,
    arrival: Arrival,
    status: str,
    findings: list[Finding],
    next_step: str | None = None,
) -> FeedbackJob:
    """The clerk's result: verdict, what to do next, then one row per finding with its cell."""
    received = arrival.received_at.astimezone(LOCAL_TZ)
    errors = sum(1 for f in findings if f.severity == ERROR)
    facts = (
        ("Đơn vị", unit_label),
        ("Tệp đã nhận", arrival.original_name),
        ("Thời điểm nhận", f"{received:%d/%m/%Y %H:%M}"),
        ("Mã tệp (SHA-256)", arrival.sha256),
        (VERDICT_LABEL, STATUS_VI[status]),
        ("Số lỗi / cảnh báo", f"{errors} lỗi, {len(findings) - errors} cảnh báo"),
        ("Việc cần làm", by_deadline_vi(next_step or NEXT_STEP_VI[status], programme.deadlines[period.quarter],
                                        dt.datetime.now(LOCAL_TZ).date())),
    )
    ordered = sorted(findings, key=reading_order)
    return FeedbackJob(
        path=str(path),
        title=f"KẾT QUẢ KIỂM TRA BÁO CÁO {period.label_vi.upper()}",
        subtitle=f"{programme.title_vi} - {programme.organisation_vi}",
        facts=facts,
        is_rejected=status == "rejected",
        findings=tuple((n, f.rule_id, SEVERITY_VI[f.severity], f.sheet, f.cell, f.value, f.message_vi)
                       for n, f in enumerate(ordered, start=1)),
    )


@task(cache_policy=NO_CACHE)
def write_feedback(
    data_dir: Path,
    programme: Programme,
    registry: Registry,
    period: Period,
    arrivals: list[Arrival],
    checked: CheckedBatch,
    guard: Guard | None = None,
    *,
    closed_note: str | None = None,
    closed_rejected_note: str | None = None,
    workers: int = DEFAULT_WORKERS,
) -> list[Path]:
    """Write data/feedback/<year>-Q<q>/<unit_code>.xlsx for each unit's latest file in this batch.

    A file held because the quarter is approved is told so in `closed_note` (whom to contact), a
    file rejected then in `closed_rejected_note`; a rejected file whose unit has an accepted
    report of the quarter is told that report still stands. A large batch is written in
    `workers` processes; the sizes are recorded here.
    """
    latest = _latest_per_unit(data_dir, period, {c for c in checked.unit_code.values() if c})
    out_dir = data_dir / "feedback" / period.key
    out_dir.mkdir(parents=True, exist_ok=True)
    by_sha: dict[str, list[Finding]] = {}
    for f in checked.findings:
        by_sha.setdefault(f.submission_id, []).append(f)
    jobs, sources = [], []
    units = _versions_on(registry, period, {c for c in checked.unit_code.values() if c})
    standing = _accepted_reports(data_dir, period, {
        code for sha, code in checked.unit_code.items() if code and checked.status.get(sha) == "rejected"})
    late = _late_units(data_dir, period, {
        checked.unit_code.get(a.sha256) for a in arrivals
        if checked.status.get(a.sha256) in ACCEPTED and _after_deadline(a.received_at, programme, period)})
    for arrival in arrivals:
        code = checked.unit_code.get(arrival.sha256)
        if code and latest.get(code) != arrival.sha256:
            continue  # a later file of this unit has its own feedback
        unit = units.get(code) if code else None
        label = f"{code} - {unit.name_vi}" if unit else (code or "(không đọc được mã đơn vị)")
        status = checked.status[arrival.sha256]
        path = out_dir / feedback_name(code, arrival.sha256)
        findings = by_sha.get(arrival.sha256, [])
        step = _next_step(status, standing.get(code), closed_note, closed_rejected_note, findings)
        jobs.append(feedback_job(path, programme, period, label, arrival, status, findings,
                                 _with_lateness(step, status, late.get(code))))
        sources.append((code, arrival.sha256))
    return _place(data_dir, period, jobs, sources, guard, workers)


ACCEPTED = ("accepted", "accepted_with_warnings")


def _after_deadline(received_at: dt.datetime, programme: Programme, period: Period) -> bool:
    """Received after the quarter's own deadline day (an extension only moves it later)."""
    return _aware(received_at).astimezone(LOCAL_TZ).date() > programme.deadlines[period.quarter]


def _with_lateness(step: str | None, status: str, late: tuple[dt.datetime, dt.date] | None) -> str | None:
    """An accepted report's advice, saying when the unit counts as late (as status and the views do)."""
    if late is None or status not in ACCEPTED:
        return step
    first, deadline = late
    return ((step or NEXT_STEP_VI[status]) + f" Đơn vị được tính là nộp muộn: báo cáo đầu tiên đạt yêu cầu nhận lúc "
            f"{_aware(first).astimezone(LOCAL_TZ):%H:%M ngày %d/%m/%Y}, sau hạn nộp {deadline:%d/%m/%Y}.")


def _late_units(data_dir: Path, period: Period, unit_codes: set[str | None]) -> dict[str, tuple[dt.datetime, dt.date]]:
    """Of `unit_codes`, those late in the quarter (v_unit_completeness): their first file that
    passed and their deadline (extended or not)."""
    codes = sorted(c for c in unit_codes if c)
    if not codes:
        return {}
    query = text(
        "SELECT unit_code, first_passed_at, deadline FROM v_unit_completeness "
        "WHERE year = :year AND quarter = :quarter AND state = 'late' AND unit_code IN :codes"
    ).bindparams(bindparam("codes", expanding=True)).columns(
        unit_code=String, first_passed_at=DateTime(timezone=True), deadline=Date)
    with engine_for(data_dir).connect() as conn:
        rows = [row for at in range(0, len(codes), CODES_PER_QUERY) for row in conn.execute(
            query, {"year": period.year, "quarter": period.quarter, "codes": codes[at:at + CODES_PER_QUERY]})]
    return {code: (first, deadline) for code, first, deadline in rows}


MISNAMED_STEP_VI = (
    "Báo cáo CHƯA được tiếp nhận: tên tệp mang mã của một đơn vị khác với mẫu báo cáo (xem dòng lỗi dưới đây). "
    "Không phải sửa số liệu: hãy làm theo hướng dẫn ở dòng lỗi (dùng đúng mẫu của đơn vị gửi, hoặc đổi tên tệp, mở và lưu lại tệp) "
    "rồi gửi lại trước hạn nộp."
)
BEFORE_DEADLINE_VI = "trước hạn nộp."


def by_deadline_vi(step: str, deadline: dt.date, today: dt.date) -> str:
    """Advice to send again "before the deadline", with its date, or, once it has passed, as soon as possible."""
    when = (f"trước hạn nộp ({deadline:%d/%m/%Y})." if today <= deadline
            else f"càng sớm càng tốt (hạn nộp chung của quý, {deadline:%d/%m/%Y}, đã qua).")
    return step.replace(BEFORE_DEADLINE_VI, when, 1)


NO_REPORT_DUE_STEP_VI = (
    "Báo cáo không được tiếp nhận: theo danh sách đơn vị, đơn vị không còn nộp báo cáo riêng cho quý này (xem dòng "
    "lỗi dưới đây), nên không cần sửa hay gửi lại tệp. Nếu danh sách đơn vị chưa đúng, hãy liên hệ văn phòng Đảng ủy "
    "Khối."
)
WRONG_TEMPLATE_STEP_VI = (
    "Báo cáo CHƯA được tiếp nhận: tệp là mẫu báo cáo của kỳ khác (hoặc mẫu cũ), không phải mẫu của quý này (xem dòng "
    "lỗi dưới đây), nên không sửa được ngay trong tệp đã gửi. Hãy nhập số liệu vào mẫu báo cáo quý này đã được cấp "
    "cho đơn vị rồi gửi lại trước hạn nộp."
)
UNREADABLE_STEP_VI = (
    "Báo cáo CHƯA được tiếp nhận: tệp đã gửi không đọc được như một báo cáo theo mẫu (lý do ở dưới). "
    "Hãy gửi lại tệp mẫu báo cáo (.xlsx) đã được cấp cho đơn vị, đã điền số liệu, trước hạn nộp."
)


def _next_step(status: str, standing: tuple[str, dt.datetime] | None, closed_note: str | None,
               closed_rejected_note: str | None, findings: list[Finding] = ()) -> str | None:
    """What to do next when it is not the status's usual advice (None): a held file's closed
    quarter; a file that is no report to fix (a PDF, an empty file); a rejected file's closed
    quarter, and the accepted report that still stands."""
    if status == "held":
        return closed_note
    if status != "rejected":
        return None
    errors = [f for f in findings if f.severity == ERROR]
    unreadable = bool(errors) and all(f.rule_id.startswith("file.") and not f.cell for f in errors)
    misnamed = bool(errors) and all(f.rule_id == FILE_NAME_OTHER_UNIT for f in errors)
    wrong_template = any(f.rule_id in WRONG_TEMPLATE_RULES for f in errors)
    not_due = any(f.rule_id in NO_REPORT_DUE_RULES for f in errors)
    special = (UNREADABLE_STEP_VI if unreadable else MISNAMED_STEP_VI if misnamed
               else NO_REPORT_DUE_STEP_VI if not_due else WRONG_TEMPLATE_STEP_VI if wrong_template else None)
    if standing is None and closed_rejected_note is None:
        return special
    step = closed_rejected_note or special or NEXT_STEP_VI["rejected"]
    if standing is not None:
        name, received = standing
        step += (f" Báo cáo đã được chấp nhận trước đó (tệp {name}, nhận lúc "
                 f"{_aware(received).astimezone(LOCAL_TZ):%d/%m/%Y %H:%M}) vẫn là báo cáo hiện hành của đơn vị; "
                 "tệp này không thay thế báo cáo đó.")
    return step


def _accepted_reports(data_dir: Path, period: Period, unit_codes: set[str]) -> dict[str, tuple[str, dt.datetime]]:
    """Per unit of `unit_codes` with an accepted report of the quarter: that file's name and arrival."""
    if not unit_codes:
        return {}
    query = text(
        "SELECT c.unit_code, f.original_name, f.received_at FROM v_current_submission c "
        "JOIN submission s ON s.submission_id = c.submission_id "
        "JOIN received_file f ON f.file_sha256 = s.file_sha256 "
        "WHERE c.year = :year AND c.quarter = :quarter AND c.unit_code IN :codes"
    ).bindparams(bindparam("codes", expanding=True)).columns(
        unit_code=String, original_name=String, received_at=DateTime(timezone=True))
    codes = sorted(unit_codes)
    with engine_for(data_dir).connect() as conn:
        rows = [row for at in range(0, len(codes), CODES_PER_QUERY) for row in conn.execute(
            query, {"year": period.year, "quarter": period.quarter, "codes": codes[at:at + CODES_PER_QUERY]})]
    return {code: (name, received) for code, name, received in rows}


def _place(
    data_dir: Path, period: Period, jobs: list[FeedbackJob], sources: list[tuple[str | None, str]],
    guard: Guard | None, workers: int,
) -> list[Path]:
    """Write the workbooks (in worker processes for a large batch), then record here what is in place."""
    sizes = place_all(jobs, PARTIAL_PREFIX, workers)
    paths = [Path(job.path) for job in jobs]
    placed = [Placed(path.name, code, sha, size) for path, (code, sha), size in zip(paths, sources, sizes)]
    record_feedback(engine_for(data_dir), period.year, period.quarter, placed, guard)
    return paths


@task(cache_policy=NO_CACHE)
def rewrite_missing_feedback(
    data_dir: Path,
    programme: Programme,
    registry: Registry,
    period: Period,
    guard: Guard | None = None,
    *,
    closed_note: str | None = None,
    closed_rejected_note: str | None = None,
    workers: int = DEFAULT_WORKERS,
    run_id: int | None = None,
) -> list[Path]:
    """Write again every feedback workbook of the quarter that is missing, or whose size is not the
    one recorded when it was renamed into place, or that describes another file than it should.

    Only the recorded sizes and a listing of the folder are compared: no workbook is read. With
    `run_id` (the collect run calling, at its end), the files that run checked are passed over:
    it wrote their feedback batch by batch, and a run that fails before its end never gets here.
    """
    out_dir = data_dir / "feedback" / period.key
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_dead_partials(out_dir)
    engine = engine_for(data_dir)
    sources = [s for s in feedback_sources(engine, period.year, period.quarter, other_than_run=run_id)
               if s.status in NEXT_STEP_VI]
    if not sources:
        return []
    codes = {s.unit_code for s in sources if s.unit_code}
    # A few units: their latest files only; many: the whole quarter's in one query.
    latest = _latest_per_unit(data_dir, period, codes if len(codes) <= CODES_PER_QUERY else None)
    wanted = [s for s in sources if s.unit_code is None or latest.get(s.unit_code) == s.file_sha256]
    recorded = feedback_in_place(engine, period.year, period.quarter)
    on_disk = {e.name: e.stat().st_size for e in os.scandir(out_dir) if e.is_file(follow_symlinks=False)}
    due = []
    for s in wanted:
        name = feedback_name(s.unit_code, s.file_sha256)
        if name not in on_disk or recorded.get(name) != (s.file_sha256, on_disk[name]):
            due.append(s)
    findings = findings_of(engine, [s.submission_id for s in due])
    standing = _accepted_reports(data_dir, period, {s.unit_code for s in due if s.unit_code and s.status == "rejected"})
    late = _late_units(data_dir, period, {
        s.unit_code for s in due if s.status in ACCEPTED and _after_deadline(s.received_at, programme, period)})
    jobs, sources = [], []
    units = _versions_on(registry, period, {s.unit_code for s in due if s.unit_code})
    for s in due:
        unit = units.get(s.unit_code) if s.unit_code else None
        label = f"{s.unit_code} - {unit.name_vi}" if unit else (s.unit_code or "(không đọc được mã đơn vị)")
        arrival = Arrival(s.file_sha256, s.original_name, s.size_bytes, s.archive_path, _aware(s.received_at))
        path = out_dir / feedback_name(s.unit_code, s.file_sha256)
        found = [Finding(s.file_sha256, *f) for f in findings[s.submission_id]]
        step = _next_step(s.status, standing.get(s.unit_code), closed_note, closed_rejected_note, found)
        jobs.append(feedback_job(path, programme, period, label, arrival, s.status, found,
                                 _with_lateness(step, s.status, late.get(s.unit_code))))
        sources.append((s.unit_code, s.file_sha256))
    return _place(data_dir, period, jobs, sources, guard, workers)


def _versions_on(registry: Registry, period: Period, codes: set[str]) -> dict[str, UnitVersion]:
    """Each of `codes`' version at the period's end, as `Registry.version_on` finds it (the first one
    listed); a unit merged or dissolved before it, as it was last listed (its feedback names it)."""
    in_force = _in_force_by_code(registry, period)
    found = {code: in_force[code] for code in codes if code in in_force}
    if gone := codes - found.keys():
        for version in registry.versions:
            if version.unit_code in gone:
                found[version.unit_code] = version
    return found


# The last registry and period asked about, with each code's version then: built in one pass and
# kept for the run's next batches (60,000 units, 2,000 files a batch), not rebuilt for each.
_held_versions: tuple[Registry, Period, dict[str, UnitVersion]] | None = None


def _in_force_by_code(registry: Registry, period: Period) -> dict[str, UnitVersion]:
    global _held_versions
    held = _held_versions
    if held is not None and held[0] is registry and held[1] == period:
        return held[2]
    found: dict[str, UnitVersion] = {}
    for version in registry.versions:
        if version.unit_code not in found and version.in_force_on(period.ends_on):
            found[version.unit_code] = version
    _held_versions = (registry, period, found)
    return found


def _aware(moment: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes for the aware UTC ones written.
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _latest_per_unit(data_dir: Path, period: Period, unit_codes: set[str] | None) -> dict[str, str]:
    """Per unit (all of the quarter's when `unit_codes` is None): the file hash of its latest
    received submission of the quarter."""
    if unit_codes is not None and not unit_codes:
        return {}
    query = ("SELECT unit_code, file_sha256 FROM v_submission_status "
             "WHERE year = :year AND quarter = :quarter AND is_latest")
    params: dict = {"year": period.year, "quarter": period.quarter}
    with engine_for(data_dir).connect() as conn:
        if unit_codes is None:
            rows = conn.execute(text(query), params).all()
        else:
            # Only the batch's units: a national quarter's batches would otherwise each read the
            # whole quarter so far (the view's window is partitioned by unit: the filter goes inside).
            by_codes = text(query + " AND unit_code IN :codes").bindparams(bindparam("codes", expanding=True))
            codes = sorted(unit_codes)
            rows = [row for at in range(0, len(codes), CODES_PER_QUERY)
                    for row in conn.execute(by_codes, {**params, "codes": codes[at:at + CODES_PER_QUERY]})]
    return {code: sha for code, sha in rows if code is not None}
