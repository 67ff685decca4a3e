"""Publish a year: the report the bloc's Party Committee signs (.docx, .pdf), the data workbook
(.xlsx), a versioned snapshot in the warehouse and a markdown artifact for the UI."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from prefect.runtime import flow_run
from prefect.states import Failed
from pydantic import Field

from flows.run_names import publish_run_name
from reporting.narrative import report_markdown
from reporting.periods import LOCAL_TZ, Period, period_just_ended
from reporting.programme import Programme, ProgrammeError, programme_for_year, programmes_dir
from reporting.versions import changes_summary_vi, figure_changes
from reporting.vn_format import dated_vi
from tasks.approval import approve_quarter
from tasks.artifacts import publish_headline_artifact
from tasks.completeness import read_completeness, year_summary_markdown
from tasks.disk_full import stops_when_disk_full
from tasks.notify import tell_ops_of_crash, tell_ops_of_failure
from tasks.prepare import check_settings, prepare_warehouse
from tasks.publishing import (
    check_publish_rights,
    convert_report_to_pdf,
    decide_version,
    fetch_year_figures,
    headline_records,
    latest_files,
    latest_official,
    promote_latest,
    record_version,
    report_paragraphs,
    version_reasons,
    write_report_files,
    year_coverage_note,
)
from tasks.run_log import drop_expected_failure_tracebacks
from warehouse import approval as approvals
from warehouse.engine import data_dir as resolve_data_dir
from warehouse.engine import engine_for
from warehouse.locks import PublishBusy, holder_name, publish_lock


class YearApproval(RunInput):
    """What the bloc office answers when a publish run pauses for approval."""

    # Unticked and nameless at first: resuming without reading publishes a draft, and an answer
    # without a name (at least one letter or digit: blanks and invisible characters are no name)
    # is refused by the server, which checks the pattern with Python's Unicode-aware `re`.
    approve: bool = Field(False, title="Phê duyệt số liệu các quý chưa phê duyệt")
    approved_by: str = Field(
        ..., min_length=1, pattern=r"[^\W_]", title="Người phê duyệt hoặc từ chối (họ tên, chức vụ; bắt buộc)")
    note: str = Field("", title="Ghi chú")


@flow(name="publish-year", flow_run_name=publish_run_name, on_failure=[tell_ops_of_failure],
      on_crashed=[tell_ops_of_crash])
@stops_when_disk_full("Hãy giải phóng dung lượng rồi công bố lại.")
def publish_year(
    year: int | None = None,
    data_dir: str | None = None,
    out_dir: str | None = None,
    ask_approval: bool = True,
    approval_timeout_seconds: int = 3600,
    lock_wait_seconds: int = 600,
    reissue: bool = False,
    document_date: dt.date | None = None,
) -> dict:
    """Publish version n+1 of the year when its basis changed; otherwise keep version n as it is.

    With a quarter not approved, a deployment run pauses (up to `approval_timeout_seconds`) and
    shows the year's completeness for the bloc office to approve; a run started any other way
    (p135 publish, the demo) does not pause. Quarters still not approved make the report a
    draft (DỰ THẢO) that names them; approving them later makes the next version official.
    Two runs of the same year never interleave: the second waits up to `lock_wait_seconds`,
    saying who publishes, then fails with one message. A year whose latest version is official
    (issued to the Committee) and still approved gets a new official version only with `reissue`:
    what changed since (the programme file, the registry, the year before's figures) is said, and
    the issued version stays the latest until someone asks for the new one. `document_date` is the
    date the new version's document bears (its signing day), else the day it is made.
    """
    year = year or period_just_ended().year
    drop_expected_failure_tracebacks()
    data = resolve_data_dir(data_dir)
    if problem := check_settings(data, data_dir is not None):
        return Failed(message=problem)
    reports = Path(out_dir) if out_dir else data / "reports"
    try:
        programme = programme_for_year(year)
    except ProgrammeError:
        return Failed(message=(
            f"Không có tệp chương trình báo cáo dùng được cho năm {year} (thư mục {programmes_dir()}): "
            f"chưa công bố được năm {year}. Hãy thêm tệp chương trình của năm rồi chạy lại."
        ))
    if document_date is not None and document_date < dt.date(year, 1, 1):
        return Failed(message=(
            f"Ngày văn bản {document_date:%d/%m/%Y} ở trước năm {year}: báo cáo năm {year} không ghi ngày ấy. "
            "Hãy cho ngày ký văn bản (lệnh: --date NGÀY/THÁNG/NĂM; lần chạy theo lịch: tham số document_date)."
        ))
    for name, value in (("approval_timeout_seconds", approval_timeout_seconds), ("lock_wait_seconds", lock_wait_seconds)):
        if value < 0:
            return Failed(message=f"Lỗi cấu hình: tham số {name}={value}: phải là một số nguyên từ 0 trở lên.")
    if programme.publication is None:
        return Failed(message=(
            f"Tệp chương trình năm {year} chưa có mục [publication] (cơ quan ban hành, số, nơi ban hành, người ký, "
            "nơi nhận) nên chưa lập được báo cáo."
        ))
    if busy := prepare_warehouse(data, year=year):
        return Failed(message=busy)
    if refused := check_publish_rights(data):
        return Failed(message=refused)
    unapproved = fetch_unapproved(data, year)
    if unapproved and ask_approval and _is_deployment_run():
        unapproved = wait_for_approval(data, programme, unapproved, approval_timeout_seconds)
    not_approved = tuple(unapproved)
    labels = [Period(year, q).label_vi for q in not_approved]
    holder = holder_name(str(flow_run.id) if flow_run.id else None)
    try:
        # Deciding the version and recording it are one step for the year: a second run waits,
        # then finds the version this one recorded.
        with publish_lock(engine_for(data), year, holder, wait_seconds=lock_wait_seconds,
                          say=get_run_logger().warning):
            figures = fetch_year_figures(data, year, programme)
            if figures.is_empty:
                # The command says so in Vietnamese; an engineer's line in English is no warning to anyone.
                get_run_logger().info("No accepted submissions for %s: nothing to publish", year)
                return {"year": year, "report": None, "headline": [], "unapproved": []}
            headline = headline_records(figures)
            decision = dataclasses.replace(decide_version(data, programme, figures, not_approved),
                                           document_date=document_date)
            issued = decision.previous if decision.previous is not None and not decision.previous.draft_quarters else None
            held_back = decision.is_new and issued is not None and not not_approved and not reissue
            if held_back:
                changes = figure_changes(issued.figures, headline)
                change_lines = changes_summary_vi(decision.version, changes, version_reasons(programme, figures, issued))
                latest = latest_files(reports, year, issued.version)
                status = [
                    f"Năm {year} đã có bản chính thức (phiên bản {issued.version}, "
                    f"{dated_vi(issued.published_at.astimezone(LOCAL_TZ).date(), issued.document_date)}); từ đó căn cứ lập báo cáo đã thay đổi. "
                    f"Chưa phát hành lại: bản chính thức vẫn là phiên bản {issued.version}. Muốn phát hành phiên "
                    f"bản {decision.version}, chạy: p135 publish --year {year} --reissue.",
                    *change_lines,
                ]
                pdf_note = None
                decision = dataclasses.replace(decision, version=issued.version, is_new=False)
            elif decision.is_new:
                changes = figure_changes(decision.previous.figures, headline) if decision.previous else []
                change_lines = changes_summary_vi(decision.version, changes, version_reasons(programme, figures, decision.previous, not_approved))
                # The official document that follows drafts is the first issued: what moved since a
                # draft is for the ops team (the command, the run), not for the Committee's copy. One
                # that replaces an official version already issued names it, under a number of its own,
                # and says what moved since it.
                replaced = None if not_approved else latest_official(data, year)
                number = programme.publication.document_number
                if replaced is not None and replaced.document_number == number:
                    return Failed(message=same_number_vi(replaced, year, reissue))
                in_document = change_lines if not_approved else []
                if replaced is not None:
                    moved = figure_changes(replaced.figures, headline)
                    in_document = replacement_lines_vi(replaced, moved)
                    if decision.previous is not None and decision.previous.draft_quarters and moved:
                        change_lines += changes_summary_vi(decision.version, moved, against=replaced.version)
                files = write_report_files(programme, figures, headline, decision, in_document, reports, not_approved)
                files = convert_report_to_pdf(files)
                record_version(data, programme, decision, files, headline, figures, not_approved)
                latest = promote_latest(files, reports, year, decision.version)
                kind = "dự thảo" if not_approved else "bản chính thức" + (f", Báo cáo số {number}" if number else "")
                made_on = decision.published_at.astimezone(LOCAL_TZ).date()
                status = [f"Phiên bản {decision.version} ({kind}), {dated_vi(made_on, decision.document_date)}.",
                          *change_lines]
                # The draft now has the usual file names: the issued version is named, and where it lies.
                if not_approved and (in_force := latest_official(data, year)) is not None:
                    number = f" (Báo cáo số {in_force.document_number})" if in_force.document_number else ""
                    status.append(
                        f"Bản chính thức đang có hiệu lực vẫn là phiên bản {in_force.version}{number}: "
                        f"{reports / (in_force.file_stem + '.docx')}; bản dự thảo này chỉ thay thế bản đó khi các quý "
                        "được phê duyệt lại và báo cáo được phát hành.")
                pdf_note = files.pdf_note
            else:
                changes, change_lines = [], []
                latest = latest_files(reports, year, decision.version)
                status = [f"Số liệu không thay đổi so với phiên bản {decision.version}: giữ nguyên phiên bản này, không ghi lại tệp nào."]
                if document_date is not None and document_date != decision.previous.dated():
                    status.append(
                        f"Ngày văn bản {document_date:%d/%m/%Y} (--date, hay tham số document_date) chỉ dùng khi lập phiên bản mới: phiên bản "
                        f"{decision.version} vẫn ghi ngày {decision.previous.dated():%d/%m/%Y}.")
                pdf_note = None
            if labels:
                get_run_logger().info("Publishing %s as a draft: quarters %s not approved", year, list(not_approved))
                if reissue:
                    status.insert(0, (
                        f"Không phát hành lại bản chính thức (--reissue): {', '.join(labels)} chưa được phê duyệt nên "
                        f"chỉ lập được bản dự thảo. Hãy phê duyệt (p135 approve --year {year} --quarter N --by TÊN) "
                        f"rồi chạy lại p135 publish --year {year} --reissue."))
            if latest.not_promoted:
                return Failed(message=latest.not_promoted)
            held = fetch_held_files(data, year)
            markdown = report_markdown(year, headline, report_paragraphs(programme, figures, headline), status, not_approved)
            publish_headline_artifact(year, markdown, labels)
            return {
                "year": year,
                "version": decision.version,
                "changed": decision.is_new,
                "changes": [c.text_vi() for c in changes],
                "status": status,
                "report": str(latest.xlsx) if latest.xlsx else None,
                "document": str(latest.docx) if latest.docx else None,
                "pdf": str(latest.pdf) if latest.pdf else None,
                "pdf_note": pdf_note,
                "headline": headline,
                "unapproved": labels,
                "coverage_note": year_coverage_note(programme, figures),
                "held": {Period(year, q).label_vi: n for q, n in held.items()},
                # Of those, the quarters reopened since: their held files come in at the next collect.
                "held_reopened": [q for q in held if q in not_approved],
            }
    except PublishBusy as exc:
        return Failed(message=str(exc))


def same_number_vi(replaced, year: int, reissue: bool) -> str:
    """Why an official version cannot be issued under the number of the one it replaces."""
    return (
        f"Bản chính thức mới sẽ thay thế Báo cáo số {replaced.document_number} ngày "
        f"{replaced.dated():%d/%m/%Y} (phiên bản {replaced.version}) nên cần số văn bản "
        f"mới: hãy lấy số mới, ghi vào document_number ở mục [publication] của tệp chương trình năm {year}, rồi "
        f"chạy lại p135 publish --year {year}{' --reissue' if reissue else ''}. Chưa phát hành gì."
    )


def replacement_lines_vi(replaced, moved: list) -> list[str]:
    """What an official document replacing an issued one says of it: which one, and the figures adjusted."""
    when = f"{replaced.dated():%d/%m/%Y}"
    which = (f"Báo cáo số {replaced.document_number} ngày {when}" if replaced.document_number
             else f"báo cáo đã ban hành ngày {when}")
    if not moved:
        return [f"Báo cáo này thay thế {which}."]
    return [f"Báo cáo này thay thế {which}; các số liệu sau đã được điều chỉnh:"] + [f"– {c.text_vi()}" for c in moved]


def _is_deployment_run() -> bool:
    """This very run was started from a deployment (a subflow of one is not)."""
    context = FlowRunContext.get()
    return bool(context and context.flow_run and context.flow_run.deployment_id)


@task(cache_policy=NO_CACHE)
def fetch_held_files(data_dir: Path, year: int) -> dict[int, int]:
    """Each quarter of the year with files held while it is approved (not in the figures): how many."""
    return {a.quarter: a.held_files for a in approvals.approvals(engine_for(data_dir), year) if a.held_files}


@task(cache_policy=NO_CACHE)
def fetch_unapproved(data_dir: Path, year: int) -> list[int]:
    """The quarters of the year not approved (locked) in the warehouse."""
    return approvals.unapproved_quarters(engine_for(data_dir), year)


def wait_for_approval(data_dir: Path, programme: Programme, unapproved: list[int], timeout: int) -> list[int]:
    """Pause for the bloc office, showing the year's completeness; return the quarters still not
    approved (none once approved: each is recorded in the audit as approved by whoever answered)."""
    logger = get_run_logger()
    year = programme.year
    engine = engine_for(data_dir)
    states = {a.quarter: f"đã phê duyệt ({a.approved_by})" for a in approvals.approvals(engine, year) if a.is_locked}
    summary = year_summary_markdown([read_completeness(data_dir, Period(year, q)) for q in (1, 2, 3, 4)], states, programme)
    # A quarter no collect has finished in may have no figures to approve: one tick would lock it
    # empty, stop its reminders and hold every file sent later.
    collected = approvals.collected_quarters(engine, year)
    approvable = [q for q in unapproved if q in collected]
    never = [Period(year, q).label_vi for q in unapproved if q not in collected]
    if not approvable:
        logger.warning("No quarter of %s waiting for approval was ever collected (%s): publishing a draft", year, unapproved)
        return unapproved
    waiting = ", ".join(Period(year, q).label_vi for q in approvable)
    those = "quý đó" if len(never) == 1 else "các quý đó"
    not_here = (f" {', '.join(never)} chưa có lần thu nhận nào chạy xong nên không phê duyệt ở đây: báo cáo vẫn là "
                f"bản DỰ THẢO cho đến khi {those} được thu nhận (chạy lại thu nhận nếu lần trước bị dừng giữa chừng) và "
                "phê duyệt (p135 approve).") if never else ""
    description = (
        f"# Phê duyệt số liệu năm {year} trước khi công bố\n\n"
        f"Chưa phê duyệt: **{waiting}**.{not_here} Xem tình hình nộp báo cáo dưới đây; chọn *Phê duyệt* và ghi "
        f"tên người phê duyệt để phê duyệt {'quý này' if len(approvable) == 1 else 'các quý này'}"
        + (" và công bố bản chính thức" if not never else "")
        + ", hoặc bỏ chọn để công bố bản DỰ THẢO.\n\n"
        + summary
    )
    logger.info("Waiting up to %d s for approval of %s quarters %s%s", timeout, year, approvable,
                f" (never collected, not offered: {[q for q in unapproved if q not in collected]})" if never else "")
    try:
        answer = pause_flow_run(wait_for_input=YearApproval.with_initial_data(description=description), timeout=timeout)
    except FlowPauseTimeout:
        logger.warning("No approval of %s within %d s: publishing a draft", year, timeout)
        return unapproved
    if not answer.approve:
        logger.warning("Approval of %s declined by %s: publishing a draft", year, answer.approved_by or "the approver")
        return unapproved
    who = answer.approved_by.strip()
    for quarter in approvable:
        approve_quarter(data_dir, Period(year, quarter), who, answer.note.strip() or None)
    logger.info("Quarters %s of %s approved by %s", approvable, year, who)
    return [q for q in unapproved if q not in approvable]
