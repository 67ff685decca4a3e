"""Completeness and timeliness as the ops team reads them: per group with rates, units needing
action first (missing, rejected, held, late), in Vietnamese, for the CLI and the run artifacts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from reporting.periods import Period
from reporting.programme import Programme
from reporting.units import codes_in_name
from reporting.vn_format import vn_number
from warehouse.completeness import (
    group_completeness,
    latest_errors,
    misnamed_files,
    not_due_files,
    refused_entries,
    unattributed_files,
    unit_completeness,
)
from warehouse.engine import engine_for

STATE_VI = {
    "missing": "Chưa nộp",
    "rejected": "Bị từ chối",
    "held": "Tạm giữ (kỳ đã khóa sổ)",
    "late": "Nộp muộn",
    "on_time": "Đúng hạn",
}
COLUMNS_VI = ("Khối", "Phải nộp", "Đã nhận", "Chấp nhận", "Đúng hạn", "Muộn", "Chưa nộp", "Từ chối",
              "Tỷ lệ nộp", "Tỷ lệ đúng hạn")
COUNTS = ("expected", "received", "accepted", "on_time", "late", "missing", "rejected")


@dataclass
class Completeness:
    """One quarter: the v_completeness rows, every expected unit's state, and rejected units' errors."""

    period: Period
    groups: pd.DataFrame
    units: pd.DataFrame
    errors: dict[str, list[dict]] = field(default_factory=dict)
    # Files counted for no unit (see warehouse.completeness.unattributed_files).
    unattributed: list[dict] = field(default_factory=list)
    # Files refused for a name carrying another unit's code (see warehouse.completeness.misnamed_files).
    misnamed: list[dict] = field(default_factory=list)
    # Inbox entries refused unread (see warehouse.completeness.refused_entries).
    refused: list[dict] = field(default_factory=list)
    # Files of units not due this quarter: merged, dissolved (see warehouse.completeness.not_due_files).
    not_due: list[dict] = field(default_factory=list)

    def files_named_for(self, unit_code: str) -> list[dict]:
        """The files counted for no unit whose name carries `unit_code` (a PDF sent as CQ042_...),
        those refused in another unit's template under its code (CQ042_... in CQ001's template), and
        inbox entries under its code refused unread (last quarter's file sent again)."""
        code = unit_code.upper()
        return [f for f in self.unattributed + self.misnamed + self.refused
                if code in codes_in_name(f["original_name"]) and f.get("template_unit_code") != code]

    def units_in(self, state: str) -> pd.DataFrame:
        return self.units[self.units["state"] == state]

    def total(self) -> dict[str, float]:
        """The whole bloc: counts added up, rates recomputed from them."""
        sums = {c: int(self.groups[c].sum()) for c in COUNTS}
        expected = sums["expected"]
        sums["reporting_rate"] = round(100.0 * sums["accepted"] / expected, 1) if expected else 0.0
        sums["on_time_rate"] = round(100.0 * sums["on_time"] / expected, 1) if expected else 0.0
        return sums


def read_completeness(data_dir: Path, period: Period) -> Completeness:
    """Read a quarter's completeness from the warehouse views (a plain function: no Prefect run)."""
    engine = engine_for(data_dir)
    return Completeness(
        period,
        group_completeness(engine, period.year, period.quarter),
        unit_completeness(engine, period.year, period.quarter),
        latest_errors(engine, period.year, period.quarter),
        unattributed_files(engine, period.year, period.quarter),
        misnamed_files(engine, period.year, period.quarter),
        refused_entries(engine, period.year, period.quarter),
        not_due_files(engine, period.year, period.quarter),
    )


@task(cache_policy=NO_CACHE)
def fetch_completeness(data_dir: Path, period: Period) -> Completeness:
    """Expected, received, accepted, on time, late, missing and rejected units of the quarter."""
    return read_completeness(data_dir, period)


def percent(value: float) -> str:
    return f"{vn_number(value, 1)}%"


def table_rows(c: Completeness, programme: Programme) -> list[list[str]]:
    """The completeness table, one row per group then the whole bloc, as text."""
    rows = []
    for r in c.groups.to_dict("records"):
        rows.append([programme.groups.get(r["unit_group"], r["unit_group"]),
                     *(vn_number(r[k]) for k in COUNTS), percent(r["reporting_rate"]), percent(r["on_time_rate"])])
    t = c.total()
    rows.append(["Toàn Khối", *(vn_number(t[k]) for k in COUNTS), percent(t["reporting_rate"]), percent(t["on_time_rate"])])
    return rows


def deadline_vi(programme: Programme, period: Period) -> str:
    return f"{programme.deadlines[period.quarter]:%d/%m/%Y}"


def unit_lines(c: Completeness, state: str) -> list[str]:
    """`CQ005 – Chi bộ ...` for each unit in `state`, with what a person needs beside it."""
    lines = []
    for u in c.units_in(state).to_dict("records"):
        line = f"{u['unit_code']} – {u['unit_name']}"
        if u["is_extended"]:
            line += f" (gia hạn đến {_date(u['deadline']):%d/%m/%Y})"
        if state == "rejected" and c.errors.get(u["unit_code"]):
            first = c.errors[u["unit_code"]][0]
            place = f"{first['sheet'] or ''}{'!' + first['cell'] if first['cell'] else ''}"
            line += f": tệp {first['original_name']}: {place + ' ' if place else ''}{first['message_vi']}"
        lines.append(line)
    return lines


def completeness_markdown(c: Completeness, programme: Programme) -> str:
    """The completeness table and the units needing action, as Markdown for an artifact."""
    t = c.total()
    lines = [
        f"## Tình hình nộp báo cáo {c.period.label_vi} (hạn nộp {deadline_vi(programme, c.period)})",
        "",
        f"Tỷ lệ nộp {percent(t['reporting_rate'])}, tỷ lệ đúng hạn {percent(t['on_time_rate'])}: "
        f"{t['accepted']}/{t['expected']} đơn vị đã được chấp nhận, {t['missing']} chưa nộp, {t['rejected']} bị từ chối.",
        "",
        "| " + " | ".join(COLUMNS_VI) + " |",
        "|---|" + "---:|" * (len(COLUMNS_VI) - 1),
    ]
    lines += ["| " + " | ".join(_md(x) for x in row) + " |" for row in table_rows(c, programme)]
    for state in ("missing", "rejected", "held", "late"):
        found = unit_lines(c, state)
        if found:
            lines += ["", f"### {STATE_VI[state]} ({len(found)})", ""]
            lines += [f"- {_md(x)}" for x in found]
    return "\n".join(lines) + "\n"


def year_summary_markdown(completeness: list[Completeness], approvals: dict[int, str], programme: Programme) -> str:
    """A year at a glance, for the approver: each quarter's rates, counts and approval state."""
    lines = [
        f"## Tình hình nộp báo cáo năm {programme.year}",
        "",
        "| Quý | Phải nộp | Chấp nhận | Đúng hạn | Chưa nộp | Từ chối | Tỷ lệ nộp | Tỷ lệ đúng hạn | Phê duyệt |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for c in completeness:
        t = c.total()
        lines.append(
            f"| {c.period.label_vi} | {t['expected']} | {t['accepted']} | {t['on_time']} | {t['missing']} | "
            f"{t['rejected']} | {percent(t['reporting_rate'])} | {percent(t['on_time_rate'])} | "
            f"{approvals.get(c.period.quarter, 'chưa phê duyệt')} |"
        )
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
