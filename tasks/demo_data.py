"""The demo bloc's year: a seeded, realistic set of units filling their templates as clerks do.

The consolidated year equals the figures of the provincial article on Programme 135 in 2023
(`DEMO_TARGETS`); everything else (how many tasks each unit has, when they are completed,
each enterprise's quarters, arrival dates) is drawn from a seeded generator.
"""

from __future__ import annotations

import datetime as dt
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook
from prefect import task
from prefect.cache_policies import NO_CACHE

from reporting import layout as L
from reporting.periods import LOCAL_TZ, Period
from reporting.programme import Programme
from reporting.units import Registry, UnitVersion
from tasks.templates import CarryOver, build_template

# What the article reports for 2023; money in millions of VND so that sums are exact.
DEMO_TARGETS = {
    "key_tasks_total": 1966,
    "key_tasks_ctr135": 365,
    "revenue_m_vnd": 9_899_400,
    "budget_paid_m_vnd": 870_000,
    "social_insurance_m_vnd": 60_820,
    "social_insurance_pct_of_plan": 135.0,
    "avg_income_m_vnd": 10.6,
    "avg_income_pct_of_plan": 106.0,
}
DEMO_SEED = 135

# Share of a year's new tasks first listed in each quarter.
OPENED_IN = {1: 0.72, 2: 0.16, 3: 0.09, 4: 0.03}
# Chance that an open task is completed in a given quarter (all are done by Q4).
COMPLETION_CHANCE = 0.38
LATE_SHARE = 0.07

TASK_TEXT = {
    "ctr135": [
        "Lãnh đạo thực hiện chỉ tiêu về cải cách hành chính theo Chương trình 135",
        "Triển khai kế hoạch chuyển đổi số gắn với Chương trình hành động 135",
        "Thực hiện đột phá về trách nhiệm nêu gương của cán bộ, đảng viên",
        "Đồng hành, hỗ trợ tháo gỡ khó khăn cho doanh nghiệp trên địa bàn",
        "Nâng cao chỉ số năng lực cạnh tranh cấp tỉnh (PCI) trong lĩnh vực phụ trách",
        "Thực hiện nhiệm vụ trọng tâm về phát triển kết cấu hạ tầng",
        "Nâng cao chất lượng nguồn nhân lực theo Chương trình 135",
        "Thực hiện chỉ tiêu giải ngân vốn đầu tư công được giao",
    ],
    "superior": [
        "Thực hiện kế hoạch công tác năm do ngành dọc cấp trên giao",
        "Hoàn thành chỉ tiêu chuyên môn được cấp trên giao",
        "Triển khai văn bản chỉ đạo của bộ, ngành Trung ương",
        "Tổ chức kiểm tra chuyên ngành theo kế hoạch của cấp trên",
        "Thực hiện chương trình thi đua của ngành",
        "Tham gia tổng kết, sơ kết chuyên đề theo yêu cầu của ngành dọc",
    ],
    "unit": [
        "Tổ chức học tập, quán triệt nghị quyết của Đảng cho toàn thể đảng viên",
        "Xây dựng và thực hiện quy chế dân chủ ở cơ sở",
        "Kiện toàn tổ chức bộ máy sau sắp xếp",
        "Thực hiện công tác quy hoạch, đào tạo, bồi dưỡng cán bộ",
        "Xây dựng mô hình \"Dân vận khéo\" tại cơ quan, đơn vị",
        "Nâng cao chất lượng sinh hoạt chi bộ định kỳ",
        "Thực hiện chương trình kiểm tra, giám sát của cấp ủy",
        "Đẩy mạnh học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh",
        "Phát triển đảng viên mới trong quần chúng ưu tú",
        "Ứng dụng công nghệ thông tin trong quản lý văn bản, hồ sơ công việc",
    ],
}

# An enterprise's scale by the kind of business its name says: (revenue bn/quarter, workers,
# income m VND/month). Labour-heavy firms pay less, so plain and worker-weighted means differ.
ENTERPRISE_PROFILES = [
    ("Điện lực", 760, 620, 14.0),
    ("Xăng dầu", 640, 260, 12.0),
    ("Viettel", 230, 480, 15.5),
    ("Viễn thông", 160, 330, 14.5),
    ("Bưu điện", 38, 420, 8.4),
    ("Chính sách xã hội", 35, 120, 13.0),
    ("Ngân hàng", 150, 140, 21.0),
    ("Xổ số", 75, 45, 14.0),
    ("Cấp thoát nước", 62, 360, 9.8),
    ("Môi trường", 30, 470, 7.0),
    ("thủy lợi", 22, 310, 7.4),
    ("Dược phẩm", 88, 290, 9.2),
    ("giao thông", 75, 260, 8.6),
    ("May", 115, 2200, 6.9),
    ("Lâm nghiệp", 15, 190, 6.4),
    ("Bến xe", 10, 95, 7.6),
    ("Sách", 20, 60, 8.1),
    ("Giống cây trồng", 50, 160, 7.9),
    ("Du lịch", 17, 85, 7.7),
    ("Khoáng sản", 125, 640, 9.6),
]
REPORTERS = [
    "Nguyễn Thị Lan", "Trần Văn Hùng", "Lê Thị Mai", "Phạm Văn Đức", "Hoàng Thị Hương",
    "Vũ Minh Tuấn", "Đặng Thị Thu", "Bùi Văn Nam", "Đỗ Thị Hạnh", "Ngô Quang Huy",
]


@dataclass
class DemoTask:
    task_code: str
    content_vi: str
    source_code: str
    opened_in: int
    completed_in: int
    completed_on: dt.date

    def status_in(self, quarter: int, rng_value: float) -> str:
        if quarter >= self.completed_in:
            return "completed"
        if quarter == self.opened_in and rng_value < 0.3:
            return "not_started"
        return "in_progress"


@dataclass(eq=False)
class DemoUnit:
    unit: UnitVersion
    reporter: str
    phone: str
    tasks: list[DemoTask] = field(default_factory=list)
    values: dict[int, dict[str, float]] = field(default_factory=dict)
    plans: dict[int, dict[str, float]] = field(default_factory=dict)
    arrivals: dict[int, dt.datetime] = field(default_factory=dict)
    not_started: dict[tuple[int, str], float] = field(default_factory=dict)


@dataclass(frozen=True)
class Correction:
    """A first file with a mistake, followed by a corrected one."""

    unit_code: str
    quarter: int
    indicator_code: str
    wrong_value: object
    days_to_fix: int


# A clerk types text into a number cell (rejected, then fixed); another types an average income
# ten times too large (accepted with warnings, then superseded by the corrected file).
CORRECTIONS = (
    Correction("CQ017", 2, "regular_cell_meetings", "ba buổi", 2),
    Correction("DN016", 3, "avg_income_m_vnd", None, 1),
)
# An enterprise that revises its income plan in Q3 (Q1-Q2 carry the first plan).
PLAN_REVISION = ("DN017", "avg_income_m_vnd", 0.95)


def plan_demo_year(programme: Programme, registry: Registry, seed: int = DEMO_SEED) -> dict[str, DemoUnit]:
    """Every unit's year: tasks, quarterly figures, plans and arrival times."""
    rng = random.Random(seed)
    year = programme.year
    units = registry.in_force_on(dt.date(year, 12, 31))
    demo = {
        u.unit_code: DemoUnit(u, rng.choice(REPORTERS), f"0{rng.randint(200, 399)}{rng.randint(1000000, 9999999)}")
        for u in units
    }
    _plan_tasks(rng, programme, list(demo.values()))
    _plan_activity(rng, programme, list(demo.values()))
    enterprises = [d for d in demo.values() if d.unit.unit_group == "enterprises"]
    _plan_enterprises(rng, enterprises)
    _plan_arrivals(rng, programme, list(demo.values()))
    _plan_other_indicators(programme, list(demo.values()), seed)
    return demo


def _plan_other_indicators(programme: Programme, units: list[DemoUnit], seed: int) -> None:
    """Plausible figures for the indicators a later year's programme adds (the article's year has
    none): drawn from a generator of their own, so the article's year is drawn as before."""
    for d in units:
        for ind in programme.indicators_for(d.unit.unit_group):
            if all(ind.code in d.values[q] for q in (1, 2, 3, 4)):
                continue
            rng = random.Random(f"{seed}:{d.unit.unit_code}:{ind.code}")
            low = max(ind.plausible_min or 0.0, 0.0)
            high = min(ind.plausible_max or 100.0, 100.0)
            for q in (1, 2, 3, 4):
                if ind.aggregation == "sum" and not ind.decimals:
                    value: float = rng.randint(0, 3)
                elif not ind.decimals:
                    value = rng.randint(int(max(low, 1)), int(max(min(high, 50), max(low, 1))))
                else:
                    value = round(rng.uniform(max(low, 1.0), max(high, 1.0)), ind.decimals)
                d.values[q].setdefault(ind.code, value)
                if ind.has_plan:
                    d.plans[q].setdefault(ind.code, value * 4 if ind.aggregation == "sum" else value)


def _allocate(total: int, weights: list[float], minimum: int = 0) -> list[int]:
    """Split an integer total in proportion to weights (largest remainder), exactly."""
    spare = total - minimum * len(weights)
    if spare < 0:
        raise ValueError("minimum too large for the total")
    scale = spare / sum(weights)
    raw = [w * scale for w in weights]
    parts = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - parts[i], reverse=True)
    for i in order[: spare - sum(parts)]:
        parts[i] += 1
    return [p + minimum for p in parts]


def _plan_tasks(rng: random.Random, programme: Programme, units: list[DemoUnit]) -> None:
    weights = [
        (1.5 if d.unit.unit_type == "dang_bo_co_so" else 1.0) * rng.uniform(0.7, 1.3) for d in units
    ]
    totals = _allocate(DEMO_TARGETS["key_tasks_total"], weights, minimum=10)
    ctr135 = _allocate(DEMO_TARGETS["key_tasks_ctr135"], [t * rng.uniform(0.6, 1.4) for t in totals], minimum=2)
    for d, total, n_ctr in zip(units, totals, ctr135):
        n_superior = round((total - n_ctr) * rng.uniform(0.3, 0.5))
        sources = ["ctr135"] * n_ctr + ["superior"] * n_superior + ["unit"] * (total - n_ctr - n_superior)
        rng.shuffle(sources)
        opened = sorted(rng.choices(list(OPENED_IN), weights=list(OPENED_IN.values()), k=total))
        for number, (source, opened_in) in enumerate(zip(sources, opened), start=1):
            completed_in = opened_in
            while completed_in < 4 and rng.random() > COMPLETION_CHANCE:
                completed_in += 1
            period = Period(programme.year, completed_in)
            span = (period.ends_on - period.starts_on).days
            d.tasks.append(DemoTask(
                task_code=f"NV{number:02d}",
                content_vi=rng.choice(TASK_TEXT[source]),
                source_code=source,
                opened_in=opened_in,
                completed_in=completed_in,
                completed_on=period.starts_on + dt.timedelta(days=rng.randint(0, span)),
            ))
            for q in range(opened_in, 5):
                d.not_started[(q, f"NV{number:02d}")] = rng.random()


def _plan_activity(rng: random.Random, programme: Programme, units: list[DemoUnit]) -> None:
    for d in units:
        big = d.unit.unit_type == "dang_bo_co_so"
        members = rng.randint(60, 240) if big else rng.randint(12, 45)
        admitted_plan = rng.randint(3, 8) if big else rng.randint(1, 3)
        for q in (1, 2, 3, 4):
            admitted = rng.choice([0, 1, 1, 2, 3]) if big else rng.choice([0, 0, 0, 1])
            members += admitted - rng.choice([0, 0, 0, 1])
            d.values[q] = {
                "party_members_end": members,
                "new_members_admitted": admitted,
                "resolution_study_sessions": rng.randint(1, 3),
                "regular_cell_meetings": 3 * rng.randint(2, 8) if big else 3,
                "thematic_cell_meetings": rng.randint(1, 4) if big else rng.randint(0, 1),
                "inspections": rng.randint(0, 3),
                "thematic_supervisions": rng.randint(0, 2),
                "members_disciplined": 1 if rng.random() < 0.03 else 0,
                "mass_mobilisation_models": rng.choice([0, 0, 1]),
                "digital_transformation_tasks": rng.randint(0, 3),
            }
            d.plans[q] = {"new_members_admitted": admitted_plan}


def _profile(name: str) -> tuple[float, float, float]:
    for keyword, revenue, workers, income in ENTERPRISE_PROFILES:
        if keyword.lower() in name.lower():
            return revenue, workers, income
    return 40.0, 120.0, 8.5


def _plan_enterprises(rng: random.Random, enterprises: list[DemoUnit]) -> None:
    quarters = (1, 2, 3, 4)
    cells = [(d, q) for d in enterprises for q in quarters]
    revenue_season = {1: 0.92, 2: 0.97, 3: 1.0, 4: 1.11}
    income_season = {1: 0.97, 2: 0.98, 3: 1.0, 4: 1.07}
    base = {d.unit.unit_code: _profile(d.unit.name_vi) for d in enterprises}
    scale = {d.unit.unit_code: rng.uniform(0.8, 1.25) for d in enterprises}
    workers, income, revenue_w = {}, {}, {}
    for d, q in cells:
        rev, wk, inc = base[d.unit.unit_code]
        s = scale[d.unit.unit_code]
        workers[d, q] = max(5, round(wk * s * rng.uniform(0.97, 1.03)))
        income[d, q] = inc * income_season[q] * rng.uniform(0.96, 1.04)
        revenue_w[d, q] = rev * s * revenue_season[q] * rng.uniform(0.9, 1.1)

    # Worker-weighted mean income of all enterprise-quarters hits the target exactly (to 0.005).
    target = DEMO_TARGETS["avg_income_m_vnd"]
    total_w = sum(workers.values())
    shift = target - sum(income[c] * workers[c] for c in cells) / total_w
    for c in cells:
        income[c] = round(income[c] + shift, 2)
    heaviest = max(cells, key=lambda c: workers[c])
    residual = target * total_w - sum(income[c] * workers[c] for c in cells)
    income[heaviest] = round(income[heaviest] + residual / workers[heaviest], 2)

    revenue = dict(zip(cells, _allocate(DEMO_TARGETS["revenue_m_vnd"], [revenue_w[c] for c in cells])))
    tax_rate = {d.unit.unit_code: rng.uniform(0.05, 0.13) for d in enterprises}
    budget = dict(zip(cells, _allocate(
        DEMO_TARGETS["budget_paid_m_vnd"], [revenue[c] * tax_rate[c[0].unit.unit_code] for c in cells]
    )))
    si_rate = {d.unit.unit_code: rng.uniform(0.8, 1.2) for d in enterprises}
    insurance = dict(zip(cells, _allocate(
        DEMO_TARGETS["social_insurance_m_vnd"],
        [workers[c] * income[c] * si_rate[c[0].unit.unit_code] for c in cells],
    )))
    margin = {d.unit.unit_code: rng.uniform(-0.03, 0.12) for d in enterprises}

    # Plans: insurance plans sum to the total / 135%; income plans average (worker-weighted) to
    # the target / 106%.
    insurance_year = {d: sum(insurance[d, q] for q in quarters) for d in enterprises}
    insurance_plan = dict(zip(enterprises, _allocate(
        round(DEMO_TARGETS["social_insurance_m_vnd"] * 100 / DEMO_TARGETS["social_insurance_pct_of_plan"]),
        [insurance_year[d] / rng.uniform(1.2, 1.5) for d in enterprises],
    )))
    weight_year = {d: sum(workers[d, q] for q in quarters) for d in enterprises}
    own_mean = {d: sum(income[d, q] * workers[d, q] for q in quarters) / weight_year[d] for d in enterprises}
    income_plan = {d: own_mean[d] / rng.uniform(1.0, 1.12) for d in enterprises}
    plan_target = target * 100 / DEMO_TARGETS["avg_income_pct_of_plan"]
    total_weight = sum(weight_year.values())
    k = plan_target * total_weight / sum(income_plan[d] * weight_year[d] for d in enterprises)
    income_plan = {d: round(p * k, 2) for d, p in income_plan.items()}
    heaviest_unit = max(enterprises, key=lambda d: weight_year[d])
    residual = plan_target * total_weight - sum(income_plan[d] * weight_year[d] for d in enterprises)
    income_plan[heaviest_unit] = round(income_plan[heaviest_unit] + residual / weight_year[heaviest_unit], 2)

    for d, q in cells:
        d.values[q].update({
            "revenue_bn_vnd": revenue[d, q] / 1000,
            "profit_bn_vnd": round(revenue[d, q] * margin[d.unit.unit_code]) / 1000,
            "budget_paid_bn_vnd": budget[d, q] / 1000,
            "workers": workers[d, q],
            "avg_income_m_vnd": income[d, q],
            "social_insurance_bn_vnd": insurance[d, q] / 1000,
        })
        plan = income_plan[d]
        if (d.unit.unit_code, "avg_income_m_vnd") == PLAN_REVISION[:2] and q < 3:
            plan = round(plan * PLAN_REVISION[2], 2)
        d.plans[q].update({"avg_income_m_vnd": plan, "social_insurance_bn_vnd": insurance_plan[d] / 1000})


def _plan_arrivals(rng: random.Random, programme: Programme, units: list[DemoUnit]) -> None:
    for d in units:
        for q in (1, 2, 3, 4):
            period = Period(programme.year, q)
            deadline = programme.deadlines[q]
            if rng.random() < LATE_SHARE:
                day = deadline + dt.timedelta(days=rng.randint(1, 6))
            else:
                first = period.ends_on + dt.timedelta(days=1)
                day = first + dt.timedelta(days=rng.randint(0, (deadline - first).days))
            at = dt.datetime.combine(day, dt.time(rng.randint(7, 16), rng.randint(0, 59)), tzinfo=LOCAL_TZ)
            d.arrivals[q] = at


def fill_template(wb: Workbook, programme: Programme, demo: DemoUnit, quarter: int) -> None:
    """Fill a unit's template for a quarter as its clerk would."""
    info = wb[L.SHEET_INFO]
    info[L.INFO["reporter"].cell] = demo.reporter
    info[L.INFO["phone"].cell] = demo.phone
    info[L.INFO["reported_on"].cell] = demo.arrivals[quarter].date()

    sheet = wb[L.SHEET_INDICATORS]
    row = L.FIRST_DATA_ROW
    while (code := sheet[f"{L.IND['indicator_code'].letter}{row}"].value) is not None:
        sheet[f"{L.IND['value'].letter}{row}"] = demo.values[quarter].get(code)
        if programme.indicator(code).has_ytd:
            sheet[f"{L.IND['ytd'].letter}{row}"] = year_to_date(demo, code, quarter)
        if programme.indicator(code).has_plan:
            plan_cell = sheet[f"{L.IND['plan'].letter}{row}"]
            wanted = demo.plans[quarter].get(code)
            if plan_cell.value != wanted:
                plan_cell.value = wanted
        row += 1

    sources = {c.code: c.label_vi for c in programme.task_sources}
    statuses = {c.code: c.label_vi for c in programme.task_statuses}
    tasks = wb[L.SHEET_TASKS]
    rows, free = {}, []
    row = L.FIRST_DATA_ROW
    while tasks[f"{L.TASK['position'].letter}{row}"].value is not None:
        code = tasks[f"{L.TASK['task_code'].letter}{row}"].value
        if code:
            rows[code] = row
        else:
            free.append(row)
        row += 1
    for item in demo.tasks:
        if item.opened_in > quarter:
            continue
        if item.task_code not in rows:
            row = free.pop(0)
            rows[item.task_code] = row
            tasks[f"{L.TASK['task_code'].letter}{row}"] = item.task_code
            tasks[f"{L.TASK['content'].letter}{row}"] = item.content_vi
            tasks[f"{L.TASK['source'].letter}{row}"] = sources[item.source_code]
        row = rows[item.task_code]
        status = item.status_in(quarter, demo.not_started[(quarter, item.task_code)])
        tasks[f"{L.TASK['status'].letter}{row}"] = statuses[status]
        tasks[f"{L.TASK['completed_on'].letter}{row}"] = item.completed_on if status == "completed" else None
    listed = [t for t in demo.tasks if t.opened_in <= quarter]
    for line in L.summary_lines([(c.code, c.label_vi) for c in programme.task_sources]):
        if line.source_code:
            count = sum(1 for t in listed if t.source_code == line.source_code)
        elif line.is_completed:
            count = sum(1 for t in listed if t.completed_in <= quarter)
        else:
            count = len(listed)
        tasks[line.cell] = count


def year_to_date(demo: DemoUnit, code: str, quarter: int) -> float:
    """What the clerk adds up: the quarters so far, rounded as the values are."""
    return round(sum(demo.values[q][code] for q in range(1, quarter + 1)), 3)


def write_demo_quarter(
    programme: Programme,
    registry: Registry,
    period: Period,
    carry: dict[str, CarryOver],
    inbox: Path,
    seed: int = DEMO_SEED,
) -> list[Path]:
    """Write every unit's filled workbook for one quarter into the inbox, dated as it arrived."""
    demo = plan_demo_year(programme, registry, seed)
    inbox.mkdir(parents=True, exist_ok=True)
    written = []
    for code, d in sorted(demo.items()):
        unit = registry.version_on(code, period.ends_on)
        if unit is None:
            continue
        wb = build_template(programme, unit, period, carry.get(code))
        fill_template(wb, programme, d, period.quarter)
        arrived = d.arrivals[period.quarter]
        correction = next((c for c in CORRECTIONS if (c.unit_code, c.quarter) == (code, period.quarter)), None)
        if correction:
            good = d.values[period.quarter][correction.indicator_code]
            first = build_template(programme, unit, period, carry.get(code))
            fill_template(first, programme, d, period.quarter)
            _type_over(first, correction.indicator_code,
                       correction.wrong_value if correction.wrong_value is not None else round(good * 10, 2))
            written.append(_save(first, inbox / f"BaoCao_{period.key}_{code}.xlsx", arrived))
            arrived = arrived + dt.timedelta(days=correction.days_to_fix)
            written.append(_save(wb, inbox / f"BaoCao_{period.key}_{code}_sua.xlsx", arrived))
        else:
            written.append(_save(wb, inbox / f"BaoCao_{period.key}_{code}.xlsx", arrived))
    return written


def _type_over(wb: Workbook, indicator_code: str, value: object) -> None:
    """The clerk's slip: one value cell typed wrong."""
    sheet = wb[L.SHEET_INDICATORS]
    row = L.FIRST_DATA_ROW
    while sheet[f"{L.IND['indicator_code'].letter}{row}"].value != indicator_code:
        row += 1
    sheet[f"{L.IND['value'].letter}{row}"] = value


def _save(wb: Workbook, path: Path, arrived: dt.datetime) -> Path:
    wb.save(path)
    stamp = arrived.timestamp()
    os.utime(path, (stamp, stamp))
    return path


@task(cache_policy=NO_CACHE)
def write_demo_submissions(
    programme: Programme, registry: Registry, period: Period, carry: dict[str, CarryOver], inbox: Path, seed: int
) -> int:
    """Fill and drop the demo bloc's workbooks into an empty inbox; leave an inbox with files alone."""
    if inbox.is_dir() and any(p.is_file() for p in inbox.iterdir()):
        return 0
    return len(write_demo_quarter(programme, registry, period, carry, inbox, seed))
