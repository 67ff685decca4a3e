"""The year-end report's narrative, written from the figures in the voice of the bloc's reports.

The words follow the figures: "toàn bộ" only when every key task is completed, "trên" only where
the figure exceeds the number printed, "vượt / đạt / chưa đạt kế hoạch" from the figure against its
plan. Nothing here knows the 2023 figures: another year's or another bloc's read right too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from reporting.periods import Period
from reporting.programme import Programme
from reporting.vn_format import round_half_up, vn_number

# A figure of 100 or more is spoken in whole units ("9.899 tỷ đồng"), a smaller one with the
# decimals the headline prints ("60,8 tỷ đồng"), as the bloc's reports write them.
WHOLE_FROM = 100
EPSILON = 1e-9


@dataclass(frozen=True)
class Figure:
    """One line of the headline table, as the narrative needs it."""

    metric_code: str
    label_vi: str
    value: float | None
    plan: float | None
    pct_of_plan: float | None
    unit_vi: str
    decimals: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Figure:
        def number(key: str) -> float | None:
            v = row.get(key)
            return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)

        return cls(
            metric_code=row["metric_code"], label_vi=row["label_vi"], value=number("value"),
            plan=number("plan"), pct_of_plan=number("pct_of_plan"),
            unit_vi=row["display_unit_vi"], decimals=int(row["display_decimals"]),
        )


@dataclass(frozen=True)
class Activity:
    """A party-building count of the whole bloc for the year (an indicator every unit reports)."""

    label_vi: str
    value: float | None
    plan: float | None
    unit_vi: str
    decimals: int = 0


def spoken_amount(value: float, decimals: int) -> str:
    """'trên 9.899' for 9899.4; '870' for 870.0; 'trên 60,8' for 60.82; '10,6' for 10.6.

    The printed number is the figure cut (never rounded up) to the spoken precision, so "trên"
    ("over") is true whenever it is said, and said only when the figure is larger.
    """
    places = 0 if abs(value) >= WHOLE_FROM else decimals
    scale = 10 ** places
    cut = math.floor(abs(value) * scale + EPSILON) / scale
    cut = math.copysign(cut, value)
    # Prose drops decimals that are zero: "40 tỷ đồng", not "40,0 tỷ đồng".
    text = vn_number(cut, places if cut != int(cut) else 0)
    return f"trên {text}" if abs(value) - abs(cut) > EPSILON * max(1.0, abs(value)) and value > 0 else text


def percent_text(pct: float, value: float, plan: float) -> str:
    """106.0 -> '106%'; a share that rounds to 100% while short of (or over) plan keeps a decimal."""
    whole = round_half_up(pct)
    if whole == 100 and (value < plan or value > plan) and abs(pct - 100) > EPSILON:
        return f"{vn_number(pct, 1)}%"
    return f"{vn_number(pct, 0)}%"


def plan_phrase(value: float | None, plan: float | None, pct: float | None) -> str:
    """How a figure stands against its plan: vượt / đạt / chưa đạt kế hoạch, with the share."""
    if value is None or plan is None or not plan:
        return ""
    pct = pct if pct is not None else 100.0 * value / plan
    share = percent_text(pct, value, plan)
    if value > plan + EPSILON * max(1.0, abs(plan)):
        return f"đạt {share} kế hoạch, vượt kế hoạch đề ra"
    if value >= plan - EPSILON * max(1.0, abs(plan)):
        return "đạt 100% kế hoạch"
    return f"bằng {share} kế hoạch, chưa đạt kế hoạch đề ra"


def _lower_first(text: str) -> str:
    text = text.lstrip("–- ").strip()
    return text[:1].lower() + text[1:] if text else text


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _count(value: float | None) -> str:
    return vn_number(value or 0, 0)


def so_far_vi(year: int, through_quarter: int | None) -> str:
    """How far the year's figures reach: "hết năm", or "hết Quý II/2024" in a draft made mid-year."""
    if through_quarter is None or through_quarter >= 4:
        return "hết năm"
    return f"hết {Period(year, through_quarter).label_vi}"


def key_task_sentence(programme: Programme, figures: dict[str, Figure], through_quarter: int | None = None) -> str | None:
    """The key tasks: how many identified, by source, and how many completed (by the last quarter
    reported, `through_quarter`)."""
    total = next((h for h in programme.headline if not h.indicator and not h.task_sources and not h.task_statuses), None)
    if total is None or total.metric_code not in figures:
        return None
    year = programme.year
    identified = figures[total.metric_code].value or 0
    parts = [
        h for h in programme.headline
        if not h.indicator and h.task_sources and not h.task_statuses and h.metric_code in figures
    ]
    completed_metric = next(
        (h for h in programme.headline if not h.indicator and h.task_statuses and h.metric_code in figures), None,
    )
    completed = figures[completed_metric.metric_code].value if completed_metric else None
    breakdown = " và ".join(
        f"{_count(figures[h.metric_code].value)} nhiệm vụ {_lower_first(h.label_vi)}" for h in parts
    )
    breakdown = f", trong đó: {breakdown}" if breakdown else ""
    subject = "Cấp ủy các chi, đảng bộ trong Khối"
    if identified == 0:
        return f"{subject} chưa báo cáo nhiệm vụ trọng tâm nào của năm {year}."
    if completed is not None and completed >= identified:
        return (
            f"{subject} đã xác định và thực hiện hoàn thành toàn bộ {_count(identified)} nhiệm vụ trọng tâm "
            f"năm {year}{breakdown}."
        )
    sentence = f"{subject} đã xác định {_count(identified)} nhiệm vụ trọng tâm năm {year}{breakdown}"
    if completed is None:
        return sentence + "."
    share = vn_number(100.0 * completed / identified, 1)
    left = identified - completed
    return (
        f"{sentence}; đến {so_far_vi(year, through_quarter)} đã hoàn thành {_count(completed)} nhiệm vụ, đạt {share}%, "
        f"còn {_count(left)} nhiệm vụ chưa hoàn thành."
    )


def figure_clause(figure: Figure, before: float | None = None, year_before: int | None = None) -> str:
    """'tổng doanh thu các doanh nghiệp trong Khối đạt trên 9.899 tỷ đồng' (+ the plan, if any, and
    the change from the year before's official figure `before`, if any)."""
    label = _lower_first(figure.label_vi)
    if figure.value is None:
        return f"{label} chưa có số liệu"
    clause = f"{label} đạt {spoken_amount(figure.value, figure.decimals)} {figure.unit_vi}"
    against = plan_phrase(figure.value, figure.plan, figure.pct_of_plan)
    clause = f"{clause} ({against})" if against else clause
    if before is not None and year_before is not None and before > 0:
        change = 100.0 * (figure.value - before) / before
        if round_half_up(change, 1) == 0:
            clause += f", bằng năm {year_before}"
        else:
            clause += f", {'tăng' if change > 0 else 'giảm'} {vn_number(abs(change), 1)}% so với năm {year_before}"
    return clause


def indicator_sentence(
    programme: Programme, figures: dict[str, Figure], previous_year: dict[str, float | None] | None = None,
) -> str | None:
    """The enterprises' results, one clause per headline indicator, in the table's order, each
    compared with the year before's official figure where there is one."""
    previous_year = previous_year or {}
    clauses = [figure_clause(figures[h.metric_code], previous_year.get(h.metric_code), programme.year - 1)
               for h in programme.headline if h.indicator and h.metric_code in figures]
    if not clauses:
        return None
    return _upper_first("; ".join(clauses)) + "."


def activity_sentence(activities: list[Activity], through_vi: str | None = None) -> str | None:
    """Party building: what the bloc's units held and did during the year (or the part of it
    reported, `through_vi`: "hết Quý II/2024")."""
    clauses = []
    for a in activities:
        if a.value is None:
            continue
        clause = f"{_lower_first(a.label_vi)}: {vn_number(a.value, a.decimals)} {a.unit_vi}"
        against = plan_phrase(a.value, a.plan, None)
        clauses.append(f"{clause} ({against})" if against else clause)
    if not clauses:
        return None
    when = f"Từ đầu năm đến {through_vi}" if through_vi and through_vi != "hết năm" else "Trong năm"
    return f"{when}, các tổ chức cơ sở đảng trong Khối đã báo cáo: " + "; ".join(clauses) + "."


def narrative(
    programme: Programme,
    rows: list[dict[str, Any]],
    activities: list[Activity] | None = None,
    units_reporting: int | None = None,
    coverage: str | None = None,
    through_quarter: int | None = None,
    previous_year: dict[str, float | None] | None = None,
) -> list[str]:
    """The report's paragraphs, from the headline rows (v_year_end_programme135 with display);
    `coverage` (coverage_note) follows the opening when the year's figures lack reports, and
    `through_quarter`, the last quarter reported, says how far "so far" reaches in a mid-year draft;
    `previous_year` (the year before's official figures by metric) gives each figure its change."""
    figures = {r["metric_code"]: Figure.from_row(r) for r in rows}
    paragraphs = [
        f"Thực hiện {programme.title_vi} về thực hiện các chỉ tiêu, nhiệm vụ năm {programme.year}, "
        f"{programme.organisation_vi} báo cáo kết quả thực hiện năm {programme.year}"
        + (f", tổng hợp từ báo cáo quý của {units_reporting} tổ chức cơ sở đảng trong Khối" if units_reporting else "")
        + ", như sau:",
    ]
    if coverage:
        paragraphs.append(coverage)
    for sentence in (
        key_task_sentence(programme, figures, through_quarter),
        indicator_sentence(programme, figures, previous_year if (through_quarter or 4) >= 4 else None),
        activity_sentence(activities or [], so_far_vi(programme.year, through_quarter)),
    ):
        if sentence:
            paragraphs.append(sentence)
    return paragraphs


def _joined(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " và " + labels[-1]


def coverage_note(year: int, coverage: dict[int, tuple[int, int]]) -> str | None:
    """What the year's figures lack, from each quarter's (units with an accepted report, units due
    to report); None when every quarter has every unit's report."""
    empty = [Period(year, q).label_vi for q in sorted(coverage) if coverage[q][0] == 0]
    short = [f"{Period(year, q).label_vi} mới có {n}/{due}" for q in sorted(coverage)
             for n, due in [coverage[q]] if 0 < n < due]
    if not empty and not short:
        return None
    parts = []
    if empty:
        parts.append(f"{_joined(empty)} chưa có báo cáo nào được chấp nhận")
    if short:
        parts.append(f"{_joined(short)} tổ chức cơ sở đảng có báo cáo được chấp nhận")
    return (f"Phạm vi số liệu: {'; '.join(parts)}. Các số liệu năm {year} trong báo cáo này chỉ tổng hợp "
            "từ các báo cáo quý đã được chấp nhận.")


def draft_note(year: int, quarters_not_approved: list[int] | tuple[int, ...]) -> str:
    """'Số liệu Quý III/2023 và Quý IV/2023 chưa được phê duyệt' for a draft; '' when none."""
    labels = [Period(year, q).label_vi for q in sorted(set(quarters_not_approved))]
    if not labels:
        return ""
    return f"Số liệu {_joined(labels)} chưa được phê duyệt"


DRAFT_MARK = "DỰ THẢO"


def report_markdown(
    year: int,
    rows: list[dict[str, Any]],
    paragraphs: list[str],
    status_lines: list[str],
    quarters_not_approved: tuple[int, ...] = (),
) -> str:
    """The publish run's artifact: title, version and changes, the narrative, the headline table."""
    from reporting.vn_format import headline_cells

    draft = draft_note(year, quarters_not_approved)
    lines = [f"# {DRAFT_MARK + ' – ' if draft else ''}Kết quả thực hiện Chương trình hành động 135-CTr/TU năm {year}", ""]
    if draft:
        lines += [f"**{draft}.**", ""]
    lines += [*status_lines, ""]
    lines += [*(p for para in paragraphs for p in (para, ""))]
    lines += [f"| Chỉ tiêu | Năm {year} | Kế hoạch | % kế hoạch |", "|---|---:|---:|---:|"]
    lines += ["| " + " | ".join(headline_cells(r)) + " |" for r in rows]
    return "\n".join(lines) + "\n"
