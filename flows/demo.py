"""The demo year: the bloc's four quarters filled, collected and published, end to end."""

from __future__ import annotations

from prefect import flow
from prefect.states import Failed

from flows.collect import collect_quarter
from flows.publish import publish_year
from flows.run_names import demo_run_name
from reporting.periods import Period
from reporting.programme import programme_for_year
from reporting.units import RegistryError, load_registry
from tasks.demo_data import DEMO_SEED, write_demo_submissions
from tasks.disk_full import stops_when_disk_full
from tasks.handout import fetch_carry_over
from tasks.prepare import prepare_warehouse, registry_failure_vi
from warehouse.engine import data_dir as resolve_data_dir


@flow(name="demo-year", flow_run_name=demo_run_name)
@stops_when_disk_full("Hãy giải phóng dung lượng rồi chạy lại bản trình diễn.")
def demo_year(year: int = 2023, data_dir: str | None = None, seed: int = DEMO_SEED) -> dict:
    """Write each quarter's demo submissions where absent, collect Q1 to Q4, publish the year."""
    data = resolve_data_dir(data_dir)
    programme = programme_for_year(year)
    try:
        registry = load_registry()
    except RegistryError as exc:
        return Failed(message=registry_failure_vi(exc))
    if busy := prepare_warehouse(data, year=year):
        return Failed(message=busy)
    collected = []
    for quarter in (1, 2, 3, 4):
        period = Period(year, quarter)
        inbox = data / "inbox" / period.key
        carry = fetch_carry_over(data, period)
        write_demo_submissions(programme, registry, period, carry, inbox, seed)
        collected.append(collect_quarter(year=year, quarter=quarter, data_dir=str(data)))
    published = publish_year(year=year, data_dir=str(data), ask_approval=False)
    return {"collected": collected, **published}
