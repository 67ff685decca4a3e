"""Hand out a quarter's templates: one pre-filled workbook per unit."""

from __future__ import annotations

from pathlib import Path

from prefect import flow
from prefect.states import Failed

from flows.run_names import templates_run_name
from reporting.periods import current_period, period_problem_vi, resolve_period
from reporting.programme import ProgrammeError, programme_for_year, programmes_dir
from reporting.units import load_registry
from tasks.disk_full import stops_when_disk_full
from tasks.handout import fetch_carry_over, open_inbox, write_templates
from tasks.notify import tell_ops_of_crash, tell_ops_of_failure
from tasks.prepare import check_settings, prepare_warehouse
from warehouse.engine import data_dir as resolve_data_dir


@flow(name="hand-out-templates", flow_run_name=templates_run_name, on_failure=[tell_ops_of_failure],
      on_crashed=[tell_ops_of_crash])
@stops_when_disk_full("Hãy giải phóng dung lượng rồi phát lại mẫu báo cáo.")
def hand_out_templates(
    year: int | None = None, quarter: int | None = None, out_dir: str | None = None, data_dir: str | None = None
) -> list[str]:
    """Write one template per unit for a quarter (default: the quarter in progress).

    They land in <data_dir>/templates/<year>-Q<q>/ (or out_dir), each carrying over the unit's
    key tasks and plans from its latest accepted quarter of the year; the quarter's inbox,
    <data_dir>/inbox/<year>-Q<q>/, is made ready for the reports.
    """
    try:
        period = resolve_period(year, quarter, default=current_period())
    except ValueError:
        return Failed(message=period_problem_vi(year, quarter))
    data = resolve_data_dir(data_dir)
    if problem := check_settings(data, data_dir is not None):
        return Failed(message=problem)
    try:
        programme = programme_for_year(period.year)
    except ProgrammeError:
        return Failed(message=(
            f"Không có tệp chương trình báo cáo dùng được cho năm {period.year} (thư mục {programmes_dir()}): "
            f"chưa phát mẫu báo cáo {period.label_vi}. Hãy thêm tệp chương trình của năm rồi chạy lại."
        ))
    if busy := prepare_warehouse(data, year=period.year):
        return Failed(message=busy)
    carry = fetch_carry_over(data, period)
    out = Path(out_dir) if out_dir else data / "templates" / period.key
    written = write_templates(programme, load_registry(), period, carry, out)
    open_inbox(data, period)
    return [str(p) for p in written]
