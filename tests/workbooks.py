"""Real workbooks for tests: templates filled by code, written to a tmp inbox."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from reporting import layout as L
from reporting.identity import SHEET_IDENTITY
from reporting.periods import LOCAL_TZ, Period
from reporting.programme import Programme, programme_for_year
from reporting.units import Registry, load_registry
from tasks.templates import build_template

PROGRAMME: Programme = programme_for_year(2023)
REGISTRY: Registry = load_registry()


def default_values(unit_group: str, value: float = 1) -> dict[str, float]:
    """The same value everywhere, moved into an indicator's plausible band where it has one."""
    out = {}
    for i in PROGRAMME.indicators_for(unit_group):
        low = i.plausible_min if i.plausible_min is not None else value
        high = i.plausible_max if i.plausible_max is not None else value
        out[i.code] = min(max(value, low), high)
    return out


def default_plans(unit_group: str, value: float = 10) -> dict[str, float]:
    return {i.code: value for i in PROGRAMME.indicators_for(unit_group) if i.has_plan}


def submission(
    unit_code: str,
    period: Period,
    *,
    values: dict[str, object] | None = None,
    plans: dict[str, object] | None = None,
    ytd: dict[str, object] | None = None,
    tasks: list[tuple] = (),
    info: dict[str, object] | None = None,
    cells: dict[tuple[str, str], object] | None = None,
    registry: Registry | None = None,
    without_identity: bool = False,
):
    """A filled template: `tasks` rows are (code, content, source_code, status_code, completed_on[, note]);
    year-to-date defaults to the quarter's value (right for Q1); the task totals are stated
    from the rows; `cells` sets raw cells last, as {(sheet, "E7"): value}; `without_identity`
    drops the template's identity sheet, as in a workbook built by hand."""
    registry = registry or REGISTRY
    unit = registry.version_on(unit_code, period.ends_on) or next(
        v for v in reversed(registry.versions) if v.unit_code == unit_code
    )
    wb = build_template(PROGRAMME, unit, period)
    values = default_values(unit.unit_group) if values is None else values
    plans = default_plans(unit.unit_group) if plans is None else plans
    sheet = wb[L.SHEET_INDICATORS]
    row = L.FIRST_DATA_ROW
    ytd = values if ytd is None else ytd
    while (code := sheet[f"{L.IND['indicator_code'].letter}{row}"].value) is not None:
        sheet[f"{L.IND['value'].letter}{row}"] = values.get(code)
        if PROGRAMME.indicator(code).has_ytd:
            sheet[f"{L.IND['ytd'].letter}{row}"] = ytd.get(code)
        if code in plans:
            sheet[f"{L.IND['plan'].letter}{row}"] = plans[code]
        row += 1
    sources = {c.code: c.label_vi for c in PROGRAMME.task_sources}
    statuses = {c.code: c.label_vi for c in PROGRAMME.task_statuses}
    task_sheet = wb[L.SHEET_TASKS]
    for offset, (code, content, source, status, completed_on, *note) in enumerate(tasks):
        row = L.FIRST_DATA_ROW + offset
        task_sheet[f"{L.TASK['task_code'].letter}{row}"] = code
        task_sheet[f"{L.TASK['content'].letter}{row}"] = content
        task_sheet[f"{L.TASK['source'].letter}{row}"] = sources.get(source, source)
        task_sheet[f"{L.TASK['status'].letter}{row}"] = statuses.get(status, status)
        task_sheet[f"{L.TASK['completed_on'].letter}{row}"] = completed_on
        task_sheet[f"{L.TASK['note'].letter}{row}"] = note[0] if note else None
    for line in L.summary_lines([(c.code, c.label_vi) for c in PROGRAMME.task_sources]):
        if line.source_code:
            count = sum(1 for t in tasks if t[2] == line.source_code)
        elif line.is_completed:
            count = sum(1 for t in tasks if t[3] == "completed")
        else:
            count = len(tasks)
        task_sheet[line.cell] = count
    for key, value in (info or {}).items():
        wb[L.SHEET_INFO][L.INFO[key].cell] = value
    for (sheet_name, cell), value in (cells or {}).items():
        wb[sheet_name][cell] = value
    if without_identity:
        del wb[SHEET_IDENTITY]
    return wb


def save(wb, path: Path, arrived: dt.datetime | None = None) -> Path:
    """Save into an inbox, with the file's modification time as its arrival."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    if arrived is not None:
        stamp = arrived.replace(tzinfo=arrived.tzinfo or LOCAL_TZ).timestamp()
        os.utime(path, (stamp, stamp))
    return path


def indicator_cell(unit_group: str, code: str, column: str = "value") -> str:
    """A1 cell of an indicator's value (or plan) in a template for that group."""
    codes = [i.code for i in PROGRAMME.indicators_for(unit_group)]
    return f"{L.IND[column].letter}{L.FIRST_DATA_ROW + codes.index(code)}"
