"""Publish a year: the Programme 135 year-end report, its headline table and UI artifact."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from pydantic import Field

from reporting.periods import Period, period_just_ended
from reporting.programme import Programme, programme_for_year
from reporting.vn_format import headline_markdown
from tasks.approval import approve_quarter
from tasks.artifacts import publish_headline_artifact
from tasks.completeness import read_completeness, year_summary_markdown
from tasks.notify import tell_ops_of_failure
from tasks.prepare import prepare_warehouse
from tasks.run_log import drop_expected_failure_tracebacks
from tasks.publishing import fetch_year_figures, headline_records, write_report
from warehouse import approval as approvals
from warehouse.engine import data_dir as resolve_data_dir
from warehouse.engine import engine_for


class YearApproval(RunInput):
    """What the bloc office answers when a publish run pauses for approval."""

    approve: bool = Field(True, title="Phê duyệt số liệu các quý chưa phê duyệt")
    approved_by: str = Field("", title="Người phê duyệt (họ tên, chức vụ)")
    note: str = Field("", title="Ghi chú")


@flow(name="publish-year", on_failure=[tell_ops_of_failure])
def publish_year(
    year: int | None = None,
    data_dir: str | None = None,
    out_dir: str | None = None,
    ask_approval: bool = True,
    approval_timeout_seconds: int = 3600,
) -> dict:
    """Write data/reports/bao-cao-ctr135-<year>.xlsx from the warehouse views and return the headline.

    With a quarter not approved, a deployment run pauses (up to `approval_timeout_seconds`) and
    shows the year's completeness for the bloc office to approve; a run started any other way
    (p135 publish, the demo) does not pause. Quarters still not approved make the report a
    draft (DỰ THẢO) that names them.
    """
    year = year or period_just_ended().year
    drop_expected_failure_tracebacks()
    data = resolve_data_dir(data_dir)
    programme = programme_for_year(year)
    prepare_warehouse(data)
    unapproved = fetch_unapproved(data, year)
    if unapproved and ask_approval and _is_deployment_run():
        unapproved = wait_for_approval(data, programme, unapproved, approval_timeout_seconds)
    figures = fetch_year_figures(data, year)
    if figures.is_empty:
        get_run_logger().warning("No accepted submissions for %s: nothing to publish", year)
        return {"year": year, "report": None, "headline": [], "unapproved": []}
    labels = [Period(year, q).label_vi for q in unapproved]
    if labels:
        get_run_logger().info("Publishing %s as a draft: quarters %s not approved", year, unapproved)
    report = write_report(programme, figures, Path(out_dir) if out_dir else data / "reports", labels)
    headline = headline_records(figures)
    publish_headline_artifact(year, headline_markdown(year, headline), labels)
    return {"year": year, "report": str(report), "headline": headline, "unapproved": labels}


def _is_deployment_run() -> bool:
    """This very run was started from a deployment (a subflow of one is not)."""
    context = FlowRunContext.get()
    return bool(context and context.flow_run and context.flow_run.deployment_id)


@task(cache_policy=NO_CACHE)
def fetch_unapproved(data_dir: Path, year: int) -> list[int]:
    """The quarters of the year not approved (locked) in the warehouse."""
    return approvals.unapproved_quarters(engine_for(data_dir), year)


def wait_for_approval(data_dir: Path, programme: Programme, unapproved: list[int], timeout: int) -> list[int]:
    """Pause for the bloc office, showing the year's completeness; return the quarters still not
    approved (none once approved: each is recorded in the audit as approved by whoever answered)."""
    logger = get_run_logger()
    year = programme.year
    states = {a.quarter: f"đã phê duyệt ({a.approved_by})" for a in approvals.approvals(engine_for(data_dir), year) if a.is_locked}
    summary = year_summary_markdown([read_completeness(data_dir, Period(year, q)) for q in (1, 2, 3, 4)], states, programme)
    waiting = ", ".join(Period(year, q).label_vi for q in unapproved)
    description = (
        f"# Phê duyệt số liệu năm {year} trước khi công bố\n\n"
        f"Chưa phê duyệt: **{waiting}**. Xem tình hình nộp báo cáo dưới đây; chọn *Phê duyệt* và ghi "
        "tên người phê duyệt để công bố bản chính thức, hoặc bỏ chọn để công bố bản DỰ THẢO.\n\n"
        + summary
    )
    logger.info("Waiting up to %d s for approval of %s quarters %s", timeout, year, unapproved)
    try:
        answer = pause_flow_run(wait_for_input=YearApproval.with_initial_data(description=description), timeout=timeout)
    except FlowPauseTimeout:
        logger.warning("No approval of %s within %d s: publishing a draft", year, timeout)
        return unapproved
    if not answer.approve:
        logger.warning("Approval of %s declined by %s: publishing a draft", year, answer.approved_by or "the approver")
        return unapproved
    who = answer.approved_by.strip() or "(không ghi tên, phê duyệt trên Prefect)"
    for quarter in unapproved:
        approve_quarter(data_dir, Period(year, quarter), who, answer.note.strip() or None)
    logger.info("Quarters %s of %s approved by %s", unapproved, year, who)
    return []
