"""Numbers as Vietnamese readers write them: `.` groups thousands, `,` marks decimals."""

from __future__ import annotations

import math
from typing import Any


def vn_number(value: float | int | None, decimals: int = 0) -> str:
    """9899.4 -> '9.899,4'; None -> ''."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = f"{float(value):,.{decimals}f}"
    return text.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")


def vn_percent(pct: float | None) -> str:
    """106.0 -> '106%'."""
    if pct is None or (isinstance(pct, float) and math.isnan(pct)):
        return ""
    return f"{vn_number(pct, 0)}%"


def headline_cells(row: dict[str, Any]) -> tuple[str, str, str, str]:
    """(label, value, plan, % of plan) of one v_year_end_programme135 row, formatted."""
    decimals, unit = int(row["display_decimals"]), row["display_unit_vi"]
    value = vn_number(row["value"], decimals)
    plan = vn_number(row["plan"], decimals)
    return (
        row["label_vi"],
        f"{value} {unit}" if value else "",
        f"{plan} {unit}" if plan else "",
        vn_percent(row["pct_of_plan"]),
    )


def headline_markdown(year: int, rows: list[dict[str, Any]]) -> str:
    lines = [
        f"# Kết quả thực hiện Chương trình hành động 135-CTr/TU năm {year}",
        "",
        f"| Chỉ tiêu | Năm {year} | Kế hoạch | % kế hoạch |",
        "|---|---:|---:|---:|",
    ]
    lines += ["| " + " | ".join(headline_cells(r)) + " |" for r in rows]
    return "\n".join(lines) + "\n"
