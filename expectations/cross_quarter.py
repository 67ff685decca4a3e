"""Checks that need the unit's earlier quarters (from the warehouse): plain functions beside
the suites, reporting findings in the same shape."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from reporting import layout as L
from reporting.findings import ERROR, WARNING, Finding, shown
from reporting.periods import Period
from reporting.programme import Programme


@dataclass
class History:
    """Each unit's latest accepted submission earlier in the same year."""

    indicators: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["unit_code", "quarter", "indicator_code", "value", "ytd_value"]))
    tasks: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["unit_code", "quarter", "task_code", "status_code"]))


def check_year_to_date(
    indicators: pd.DataFrame, history: History, programme: Programme, period: Period
) -> list[Finding]:
    """Year-to-date never decreases, and adds this quarter to the previous quarter's."""
    previous = {
        (r.unit_code, r.indicator_code): r for r in history.indicators.itertuples(index=False)
    }
    findings = []
    for row in indicators.itertuples(index=False):
        if not (row.has_ytd and row.ytd_kind == "number" and row.value_kind == "number") or row.is_signed:
            continue
        if row.value < 0 or row.ytd < 0:
            continue  # already an error of its own; a sum with it says nothing more
        ind = programme.indicator(row.indicator_code)
        tolerance = 0.5 * 10 ** -ind.decimals
        before = previous.get((row.unit_code, row.indicator_code))
        if before is not None and pd.notna(before.ytd_value) and row.ytd < before.ytd_value - tolerance:
            findings.append(Finding(
                row.submission_id, "crossq.ytd_decreased", ERROR, L.SHEET_INDICATORS, row.ytd_cell, shown(row.ytd),
                f"Ô {row.ytd_cell}: lũy kế của \"{row.label}\" ({shown(row.ytd)}) nhỏ hơn lũy kế đã báo cáo "
                f"quý {before.quarter} ({shown(float(before.ytd_value))}). Lũy kế từ đầu năm không thể giảm.",
            ))
            continue
        if period.quarter == 1:
            expected = row.value
        elif before is not None and before.quarter == period.quarter - 1 and pd.notna(before.ytd_value):
            expected = before.ytd_value + row.value
        else:
            continue
        if abs(row.ytd - expected) > tolerance:
            findings.append(Finding(
                row.submission_id, "crossq.ytd_mismatch", WARNING, L.SHEET_INDICATORS, row.ytd_cell, shown(row.ytd),
                f"Ô {row.ytd_cell}: lũy kế của \"{row.label}\" là {shown(row.ytd)}, nhưng lũy kế quý trước "
                f"cộng số trong quý là {shown(round(float(expected), ind.decimals))}. Đề nghị kiểm tra lại.",
            ))
    return findings


def check_tasks_carried(
    tasks: pd.DataFrame, unit_of: dict[str, str | None], history: History, programme: Programme
) -> list[Finding]:
    """A task listed before is still listed, and a completed one stays completed."""
    completed = {c.code for c in programme.task_statuses if c.is_completed}
    labels = {c.code: c.label_vi for c in programme.task_statuses}
    before: dict[str, dict[str, tuple[int, str]]] = {}
    for r in history.tasks.itertuples(index=False):
        before.setdefault(r.unit_code, {})[r.task_code] = (r.quarter, r.status_code)
    rows_of = {sid: frame for sid, frame in tasks.groupby("submission_id")}
    findings = []
    for sid, unit in unit_of.items():
        earlier = before.get(unit)
        if not earlier:
            continue
        now = rows_of.get(sid, tasks.iloc[0:0])
        listed = {code: r for code, r in zip(now["task_code"], now.itertuples(index=False)) if isinstance(code, str)}
        for code, (quarter, status) in sorted(earlier.items()):
            row = listed.get(code)
            if row is None:
                findings.append(Finding(
                    sid, "crossq.task_vanished", ERROR, L.SHEET_TASKS, None, code,
                    f"Nhiệm vụ \"{code}\" có trong báo cáo quý {quarter} nhưng không có trong báo cáo này. "
                    "Giữ lại dòng nhiệm vụ và cập nhật trạng thái; nếu dừng thực hiện, chọn trạng thái "
                    "dừng và ghi rõ lý do.",
                ))
            elif status in completed and row.status_code is not None and row.status_code not in completed:
                findings.append(Finding(
                    sid, "crossq.task_uncompleted", ERROR, L.SHEET_TASKS, row.status_cell, row.status_label,
                    f"Ô {row.status_cell}: nhiệm vụ \"{code}\" đã báo cáo \"{labels[status]}\" ở quý {quarter}, "
                    f"nay ghi \"{row.status_label}\". Nhiệm vụ đã hoàn thành không chuyển lại trạng thái khác.",
                ))
    return findings
