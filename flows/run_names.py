"""Names of flow runs as the ops team reads them in the Prefect UI ("Thu nhận Quý I/2023"),
from the run's own parameters; Prefect's random names ("giga-sturgeon") said nothing of the
year or quarter a run was for."""

from __future__ import annotations

from typing import Callable

from prefect.runtime import flow_run

from reporting.periods import Period, current_period, period_just_ended, resolve_period


def _named(action_vi: str, default: Callable[[], Period], whole_year: bool = False) -> Callable[[], str]:
    def name() -> str:
        parameters = flow_run.parameters or {}
        try:
            if whole_year:
                return f"{action_vi} năm {parameters.get('year') or default().year}"
            period = resolve_period(parameters.get("year"), parameters.get("quarter"), default=default())
        except Exception:
            # A parameter the flow itself will refuse: the name says only what the run does.
            return action_vi
        return f"{action_vi} {period.label_vi}"

    return name


collect_run_name = _named("Thu nhận", period_just_ended)
remind_run_name = _named("Nhắc nộp", period_just_ended)
templates_run_name = _named("Phát mẫu", current_period)
publish_run_name = _named("Công bố", period_just_ended, whole_year=True)
demo_run_name = _named("Trình diễn", period_just_ended, whole_year=True)
