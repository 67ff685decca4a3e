"""Real workbooks for tests: templates filled by code, written to a tmp inbox."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from openpyxl import load_workbook

from reporting import layout as L
from reporting.identity import SHEET_IDENTITY
from reporting.periods import LOCAL_TZ, Period
from reporting.programme import Programme, programme_for_year
from reporting.units import Registry, load_registry
from tasks.templates import build_template, write_template

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
    for (sheet_name, cell), value in typed_cells(unit.unit_group, values=values, plans=plans, ytd=ytd, tasks=tasks).items():
        wb[sheet_name][cell] = value
    for key, value in (info or {}).items():
        wb[L.SHEET_INFO][L.INFO[key].cell] = value
    for (sheet_name, cell), value in (cells or {}).items():
        wb[sheet_name][cell] = value
    if without_identity:
        del wb[SHEET_IDENTITY]
    return wb


def typed_cells(
    unit_group: str,
    *,
    values: dict[str, object] | None = None,
    plans: dict[str, object] | None = None,
    ytd: dict[str, object] | None = None,
    tasks: list[tuple] = (),
) -> dict[tuple[str, str], object]:
    """What a clerk types into a template's open cells: {(sheet, cell): value}, as `submission` fills."""
    values = default_values(unit_group) if values is None else values
    plans = default_plans(unit_group) if plans is None else plans
    ytd = values if ytd is None else ytd
    typed: dict[tuple[str, str], object] = {}
    for offset, ind in enumerate(PROGRAMME.indicators_for(unit_group)):
        row = L.FIRST_DATA_ROW + offset
        typed[(L.SHEET_INDICATORS, f"{L.IND['value'].letter}{row}")] = values.get(ind.code)
        if ind.has_ytd:
            typed[(L.SHEET_INDICATORS, f"{L.IND['ytd'].letter}{row}")] = ytd.get(ind.code)
        if ind.code in plans:
            typed[(L.SHEET_INDICATORS, f"{L.IND['plan'].letter}{row}")] = plans[ind.code]
    sources = {c.code: c.label_vi for c in PROGRAMME.task_sources}
    statuses = {c.code: c.label_vi for c in PROGRAMME.task_statuses}
    for offset, (code, content, source, status, completed_on, *note) in enumerate(tasks):
        row = L.FIRST_DATA_ROW + offset
        for key, value in (("task_code", code), ("content", content), ("source", sources.get(source, source)),
                           ("status", statuses.get(status, status)), ("completed_on", completed_on),
                           ("note", note[0] if note else None)):
            typed[(L.SHEET_TASKS, f"{L.TASK[key].letter}{row}")] = value
    for line in L.summary_lines([(c.code, c.label_vi) for c in PROGRAMME.task_sources]):
        if line.source_code:
            count = sum(1 for t in tasks if t[2] == line.source_code)
        elif line.is_completed:
            count = sum(1 for t in tasks if t[3] == "completed")
        else:
            count = len(tasks)
        typed[(L.SHEET_TASKS, line.cell)] = count
    return typed


def hand_out(unit_code: str, period: Period, folder: Path, registry: Registry | None = None) -> Path:
    """The template `p135 templates` hands out to a unit for a quarter, as the clerk downloads it."""
    unit = (registry or REGISTRY).version_on(unit_code, period.ends_on)
    return write_template(PROGRAMME, unit, period, folder, None)


def fill_by_hand(
    template: Path,
    out: Path,
    typed: dict[tuple[str, str], object],
    *,
    arrived: dt.datetime | None = None,
    unprotect: tuple[str, ...] = (),
) -> Path:
    """What a clerk does: open the handed-out template, type into its open cells, save as a new file.

    A locked cell takes a value only once its sheet's protection is removed (Review > Unprotect
    Sheet, no password): name those sheets in `unprotect`; typing into any other locked cell fails.
    """
    wb = load_workbook(template)
    for (sheet_name, cell), value in typed.items():
        ws = wb[sheet_name]
        if ws.protection.sheet and ws[cell].protection.locked:
            if sheet_name not in unprotect:
                raise AssertionError(f"{sheet_name}!{cell} is locked: a clerk cannot type there")
            ws.protection.sheet = False
        ws[cell] = value
    return save(wb, out, arrived)


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
