"""Checks that need the unit's earlier quarters (from the warehouse): plain functions beside
the suites, reporting findings in the same shape."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
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


# A year-to-date this many times the previous one plus the quarter is a decimal comma read as a
# thousands separator, not a mistake in the sum: an error, as for a quarter's value (expectations.gate).
SEPARATOR_SLIP = 1000.0


def check_year_to_date(
    indicators: pd.DataFrame, history: History, programme: Programme, period: Period
) -> list[Finding]:
    """Year-to-date never decreases, and adds this quarter to the previous quarter's."""
    rows = indicators[
        indicators["has_ytd"].astype(bool) & (indicators["ytd_kind"] == "number")
        & (indicators["value_kind"] == "number") & ~indicators["is_signed"].astype(bool)
    ]
    # A negative value is already an error of its own, and so is a value a thousand times too
    # large (expectations.gate): a sum with it says nothing more.
    rows = rows[~((rows["value"] < 0) | (rows["ytd"] < 0))]
    if "separator_slip" in rows:
        rows = rows[rows["separator_slip"].map(lambda slip: slip is not True)]
    if rows.empty:
        return []
    tolerances = {i.code: 0.5 * 10 ** -i.decimals for i in programme.indicators}
    tolerance = rows["indicator_code"].map(tolerances).to_numpy(dtype=float)
    previous = latest_earlier(history.indicators, "indicator_code")
    at = positions_in(previous, ["unit_code", "indicator_code"], [rows["unit_code"], rows["indicator_code"]])
    has_before = at >= 0
    before_ytd = _at(pd.to_numeric(previous["ytd_value"], errors="coerce").to_numpy(dtype=float), at, np.nan)
    before_quarter = _at(previous["quarter"].to_numpy(dtype=object), at, None)
    value, ytd = rows["value"].to_numpy(dtype=float), rows["ytd"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        decreased = ~np.isnan(before_ytd) & (ytd < before_ytd - tolerance)
        if period.quarter == 1:
            expected = value
        else:
            follows = has_before & np.array([q == period.quarter - 1 for q in before_quarter], dtype=bool)
            expected = np.where(follows & ~np.isnan(before_ytd), before_ytd + value, np.nan)
        mismatch = ~decreased & ~np.isnan(expected) & (np.abs(ytd - expected) > tolerance)
        # 274,304 entered on a computer set to English is 274304: exactly a thousand times the sum.
        slipped = mismatch & (expected > 0) & (np.abs(ytd - SEPARATOR_SLIP * expected) <= SEPARATOR_SLIP * tolerance)
    findings = []
    # The failing rows' fields are taken from their columns: a row taken whole (iloc) cost a
    # millisecond, and a quarter whose year-to-date was mistyped has one such row per indicator.
    row_of = {c: rows[c].to_numpy() for c in ("submission_id", "ytd_cell", "ytd", "indicator_code", "label")}
    for i in np.flatnonzero(decreased | mismatch):
        row = {c: values[i] for c, values in row_of.items()}
        sid, cell, ytd = row["submission_id"], row["ytd_cell"], shown(row["ytd"])
        ind = programme.indicator(row["indicator_code"])
        if decreased[i]:
            findings.append(Finding(
                sid, "crossq.ytd_decreased", ERROR, L.SHEET_INDICATORS, cell, ytd,
                f"Ô {cell}: lũy kế của \"{row['label']}\" ({ytd}) nhỏ hơn lũy kế đã báo cáo "
                f"quý {before_quarter[i]} ({shown(float(before_ytd[i]))}). Lũy kế từ đầu năm không thể giảm.",
            ))
        elif slipped[i]:
            findings.append(Finding(
                sid, "crossq.ytd_separator_slip", ERROR, L.SHEET_INDICATORS, cell, ytd,
                f"Ô {cell}: lũy kế của \"{row['label']}\" là {ytd}, đúng bằng 1.000 lần lũy kế quý trước cộng số "
                f"trong quý ({shown(round(float(expected[i]), ind.decimals))}): rất có thể dấu phẩy thập phân đã bị "
                "hiểu là dấu phân cách hàng nghìn (máy tính đặt kiểu số tiếng Anh). Hãy nhập lại cho đúng.",
            ))
        else:
            findings.append(Finding(
                sid, "crossq.ytd_mismatch", WARNING, L.SHEET_INDICATORS, cell, ytd,
                f"Ô {cell}: lũy kế của \"{row['label']}\" là {ytd}, nhưng lũy kế quý trước "
                f"cộng số trong quý là {shown(round(float(expected[i]), ind.decimals))}. Đề nghị kiểm tra lại.",
            ))
    return findings


def check_tasks_carried(
    tasks: pd.DataFrame, unit_of: dict[str, str | None], history: History, programme: Programme
) -> list[Finding]:
    """A task listed before is still listed, and a completed one stays completed."""
    completed = {c.code for c in programme.task_statuses if c.is_completed}
    labels = {c.code: c.label_vi for c in programme.task_statuses}
    earlier = latest_earlier(history.tasks, "task_code")
    if earlier.empty or not unit_of:
        return []
    units = pd.DataFrame({"submission_id": pd.Series(list(unit_of), dtype=object),
                          "unit_code": pd.Series(list(unit_of.values()), dtype=object)})
    units = units[units["unit_code"].notna()]
    units["order"] = np.arange(len(units))
    due = units.merge(earlier.astype({"unit_code": object, "task_code": object}), on="unit_code")
    # Each task the clerk lists now, by its code (the last row when a code repeats).
    now = tasks.loc[np.array([isinstance(code, str) for code in tasks["task_code"]], dtype=bool)]
    now = now.drop_duplicates(["submission_id", "task_code"], keep="last")[
        ["submission_id", "task_code", "status_code", "status_cell", "status_label"]]
    due = due.merge(now.astype({"submission_id": object, "task_code": object}), on=["submission_id", "task_code"],
                    how="left", indicator="listed", suffixes=("", "_now"))
    due = due.sort_values(["order", "task_code"], kind="stable")
    findings = []
    for sid, code, quarter, status, listed, now_status, cell, label in zip(
        due["submission_id"], due["task_code"], due["quarter"], due["status_code"], due["listed"],
        due["status_code_now"], due["status_cell"], due["status_label"],
    ):
        if listed != "both":
            findings.append(Finding(
                sid, "crossq.task_vanished", ERROR, L.SHEET_TASKS, None, code,
                f"Nhiệm vụ \"{code}\" có trong báo cáo quý {quarter} nhưng không có trong báo cáo này. "
                "Giữ lại dòng nhiệm vụ và cập nhật trạng thái; nếu dừng thực hiện, chọn trạng thái "
                "dừng và ghi rõ lý do.",
            ))
        # A status left blank (NaN after the merge) is task.status_missing's, not a change of status.
        elif status in completed and isinstance(now_status, str) and now_status not in completed:
            findings.append(Finding(
                sid, "crossq.task_uncompleted", ERROR, L.SHEET_TASKS, cell, label,
                f"Ô {cell}: nhiệm vụ \"{code}\" đã báo cáo \"{labels[status]}\" ở quý {quarter}, "
                f"nay ghi \"{label}\". Nhiệm vụ đã hoàn thành không chuyển lại trạng thái khác. Nếu báo cáo "
                f"quý {quarter} ghi nhầm là đã hoàn thành: sửa tệp đã gửi quý {quarter}, lưu và gửi lại tệp đó trước "
                "(nếu quý đó đã được phê duyệt, hãy báo văn phòng Đảng ủy Khối mở lại quý), sau đó lưu lại và gửi lại "
                "báo cáo này.",
            ))
    return findings


def latest_earlier(frame: pd.DataFrame, code_column: str) -> pd.DataFrame:
    """One row per unit and code, the last one listed (as a lookup keyed by both keeps it)."""
    return frame.drop_duplicates(["unit_code", code_column], keep="last").reset_index(drop=True)


def positions_in(frame: pd.DataFrame, keys: list[str], values: list[pd.Series]) -> np.ndarray:
    """Where each row of `values` is found among `frame`'s unique `keys`: a position, or -1."""
    if frame.empty or not len(values[0]):
        return np.full(len(values[0]), -1)
    index = pd.MultiIndex.from_frame(frame[keys].astype(object))
    return index.get_indexer(pd.MultiIndex.from_arrays([v.astype(object) for v in values]))


def _at(values: np.ndarray, at: np.ndarray, missing) -> np.ndarray:
    """values[at], with `missing` where at is -1."""
    if not len(values):
        return np.full(len(at), missing, dtype=object if missing is None else float)
    return np.where(at >= 0, values[np.where(at >= 0, at, 0)], missing)
