"""Remind the units that owe a quarter's report: a letter each, one message to the ops team."""

from __future__ import annotations

import datetime as dt

from prefect import flow, get_run_logger
from prefect.states import Failed

from flows.run_names import remind_run_name
from reporting.periods import LOCAL_TZ, period_just_ended, period_problem_vi, resolve_period
from reporting.programme import ProgrammeError, programme_for_year, programmes_dir
from reporting.units import load_registry
from tasks.approval import fetch_approval
from tasks.completeness import fetch_completeness
from tasks.disk_full import stops_when_disk_full
from tasks.notify import block_ref_problem, notification_block_ref, notify_ops, tell_ops_of_crash, tell_ops_of_failure
from tasks.prepare import check_settings, prepare_warehouse
from tasks.reminders import (
    clear_reminders,
    closed_quarter_vi,
    ops_message,
    publish_closed_artifact,
    publish_reminder_artifact,
    write_reminders,
)
from tasks.run_log import drop_expected_failure_tracebacks
from warehouse.engine import data_dir as resolve_data_dir


@flow(name="remind-missing", flow_run_name=remind_run_name, on_failure=[tell_ops_of_failure],
      on_crashed=[tell_ops_of_crash])
@stops_when_disk_full("Hãy giải phóng dung lượng rồi chạy lại lệnh nhắc nộp.")
def remind_missing(
    year: int | None = None,
    quarter: int | None = None,
    data_dir: str | None = None,
    notify_block: str | None = None,
) -> dict:
    """Write a reminder to every unit without an accepted report of the quarter (default: the
    quarter just ended, whose deadline is near or past) into <data_dir>/reminders/<year>-Q<q>/,
    and send one message through the notification block `notify_block` (or $P135_NOTIFY_BLOCK).
    An approved quarter gets no reminders (`closed` in the result): it takes no more reports."""
    logger = get_run_logger()
    drop_expected_failure_tracebacks()
    try:
        period = resolve_period(year, quarter, default=period_just_ended())
    except ValueError:
        return Failed(message=period_problem_vi(year, quarter))
    data = resolve_data_dir(data_dir)
    if problem := check_settings(data, data_dir is not None):
        return Failed(message=problem)
    if notify_block and notify_block.strip() and (problem := block_ref_problem(notify_block, "tham số notify_block")):
        return Failed(message=f"Lỗi cấu hình: {problem}")
    try:
        programme = programme_for_year(period.year)
    except ProgrammeError:
        return Failed(message=(
            f"Không có tệp chương trình báo cáo dùng được cho năm {period.year} (thư mục {programmes_dir()}): "
            f"không nhắc được {period.label_vi}."
        ))
    if busy := prepare_warehouse(data, year=period.year):
        return Failed(message=busy)
    completeness = fetch_completeness(data, period)
    states = completeness.units.set_index("unit_code")["state"]
    folder = data / "reminders" / period.key
    result = {
        "period": period.key,
        "missing": sorted(states[states == "missing"].index),
        "rejected": sorted(states[states == "rejected"].index),
        "folder": str(folder),
        "closed": False,
    }
    if fetch_approval(data, period).is_locked:
        # An approved quarter takes no more reports until it is reopened: asking for them misleads.
        removed = clear_reminders(data, period)
        logger.info("Quarter %s is approved: no reminders written, %d earlier ones removed", period.key, removed)
        publish_closed_artifact(period, closed_quarter_vi(
            period, len(result["missing"]), len(result["rejected"]), removed, result["folder"]))
        return {**result, "reminders": 0, "notified": False, "closed": True, "removed": removed}
    today = dt.datetime.now(LOCAL_TZ).date()
    letters = write_reminders(completeness, programme, load_registry(), data, today)
    subject, body = ops_message(completeness, programme, folder)
    notified = notify_ops(subject, body, notify_block)
    unsent = None if notified else notification_block_ref(notify_block)
    if unsent:
        logger.warning("Reminders for %s written, but the ops team was not told through %s", period.key, unsent)
    publish_reminder_artifact(period, subject, body, unsent)
    logger.info("Reminders for %s: %d letters in %s; ops team notified: %s", period.key, len(letters), folder, notified)
    return {**result, "reminders": len(letters), "notified": notified}
