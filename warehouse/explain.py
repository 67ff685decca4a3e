"""Where a headline figure comes from: the submissions, units and rows that make it up.

Each row is one unit's figure from one submission (a quarter's value of an indicator, or the key
tasks counted from the submission that last reported them), with what it contributes to the year's
figure under the indicator's own rule: a flow adds its quarters; a stock counts the latest quarter
of each unit as it is today, merged units included (other quarters contribute 0, and so does a unit
closed during the year without a successor: it is not there at year end); a weighted mean
takes value × weight / total weight. The contributions add up to the figure in
v_year_end_programme135, which is read alongside; `matches_view` says whether they do.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, text

CSV_COLUMNS = (
    "unit_code", "unit_name", "quarter", "version", "file_name", "submission_id", "value", "weight", "contribution",
)


class UnknownMetric(LookupError):
    """The year's programme has no headline metric of that code."""

    def __init__(self, metric_code: str, known: list[str]):
        super().__init__(metric_code)
        self.metric_code = metric_code
        self.known = known


@dataclass(frozen=True)
class SourceRow:
    unit_code: str
    unit_name: str
    quarter: int
    version: int
    file_name: str
    submission_id: int
    value: float | None
    weight: float | None
    contribution: float
    # The day the unit (as it is today) ended, when that was before the year's end: a stock leaves it out.
    ended_on: dt.date | None = None

    def as_csv(self) -> list[object]:
        return [getattr(self, c) for c in CSV_COLUMNS]


@dataclass(frozen=True)
class Explanation:
    year: int
    metric_code: str
    label_vi: str
    unit_vi: str
    display_decimals: int
    kind: str  # task_count, sum, latest or weighted_mean
    value_decimals: int
    weight_label_vi: str | None
    rows: list[SourceRow]
    view_value: float | None

    @property
    def total(self) -> float:
        return sum(r.contribution for r in self.rows)

    @property
    def matches_view(self) -> bool:
        if self.view_value is None:
            return not self.rows
        # The view rounds to 3 decimals.
        return abs(self.total - self.view_value) <= 0.0005 + 1e-9 * abs(self.view_value)


_METRIC = """
SELECT h.metric_code, h.label_vi, h.display_unit_vi, h.display_decimals, h.is_task_count,
       h.indicator_code, i.aggregation, i.decimals, w.label_vi AS weight_label_vi
FROM headline_metric h
JOIN programme p ON p.programme_code = h.programme_code
LEFT JOIN indicator i ON i.programme_code = h.programme_code AND i.indicator_code = h.indicator_code
LEFT JOIN indicator w ON w.programme_code = i.programme_code AND w.indicator_code = i.weight_indicator_code
WHERE p.year = :year
ORDER BY h.position
"""

_INDICATOR_ROWS = """
SELECT c.unit_code, c.unit_name, yu.year_end_unit_code AS current_unit_code, c.quarter, s.version,
       f.original_name AS file_name, c.submission_id, c.value, w.value AS weight, cl.ended_on
FROM v_unit_quarter_indicator c
JOIN v_submission_status s ON s.submission_id = c.submission_id
JOIN received_file f ON f.file_sha256 = s.file_sha256
JOIN period p ON p.year = c.year AND p.quarter = c.quarter
JOIN unit_year yu ON yu.unit_code = c.unit_code AND yu.year = c.year
LEFT JOIN unit_year cl ON cl.unit_code = yu.year_end_unit_code AND cl.year = c.year
JOIN indicator i ON i.programme_code = p.programme_code AND i.indicator_code = c.indicator_code
LEFT JOIN submission_indicator w ON w.submission_id = c.submission_id
                                AND w.indicator_code = i.weight_indicator_code
WHERE c.year = :year AND c.indicator_code = :code
ORDER BY c.unit_code, c.quarter
"""

# Two plain reads joined in Python: PostgreSQL plans the single join of these views badly
# (13 s for one metric of the demo year, against 0.1 s for the two reads).
_TASKS_COUNTED = """
SELECT t.unit_code, t.last_quarter AS quarter, COUNT(*) AS value
FROM v_key_task_latest t
JOIN programme p ON p.year = t.year
JOIN headline_task_member m ON m.programme_code = p.programme_code AND m.metric_code = :code
                           AND m.source_code = t.source_code AND m.status_code = t.status_code
WHERE t.year = :year
GROUP BY t.unit_code, t.last_quarter
"""

_CURRENT_FILES = """
SELECT s.unit_code, s.unit_name, s.quarter, s.version, s.submission_id, f.original_name AS file_name
FROM v_submission_status s
JOIN received_file f ON f.file_sha256 = s.file_sha256
WHERE s.year = :year AND s.status IN ('accepted', 'accepted_with_warnings')
"""

_VIEW = "SELECT value FROM v_year_end_programme135 WHERE year = :year AND metric_code = :code"


def headline_codes(engine: Engine, year: int) -> list[str]:
    with engine.connect() as conn:
        return [r.metric_code for r in conn.execute(text(_METRIC), {"year": year})]


def explain(engine: Engine, year: int, metric_code: str) -> Explanation:
    """The rows behind one headline figure of a year; raises UnknownMetric for a code not in it."""
    with engine.connect() as conn:
        metrics = {r.metric_code: r for r in conn.execute(text(_METRIC), {"year": year})}
        if metric_code not in metrics:
            raise UnknownMetric(metric_code, list(metrics))
        m = metrics[metric_code]
        params = {"year": year, "code": m.indicator_code if not m.is_task_count else metric_code}
        if m.is_task_count:
            files = {(r.unit_code, r.quarter): r._asdict() for r in conn.execute(text(_CURRENT_FILES), {"year": year})}
            raw = sorted(
                ({**files.get((r.unit_code, r.quarter), _no_file(r.unit_code, r.quarter)), "value": r.value}
                 for r in conn.execute(text(_TASKS_COUNTED), params)),
                key=lambda r: (r["unit_code"], r["quarter"]),
            )
        else:
            raw = [r._asdict() for r in conn.execute(text(_INDICATOR_ROWS), params)]
        view_value = conn.execute(text(_VIEW), {"year": year, "code": metric_code}).scalar_one_or_none()
    kind = "task_count" if m.is_task_count else m.aggregation
    return Explanation(
        year=year, metric_code=metric_code, label_vi=m.label_vi, unit_vi=m.display_unit_vi,
        display_decimals=int(m.display_decimals), kind=kind,
        value_decimals=0 if m.is_task_count else int(m.decimals),
        weight_label_vi=m.weight_label_vi if kind == "weighted_mean" else None,
        rows=_with_contributions(raw, kind),
        view_value=None if view_value is None else float(view_value),
    )


def _no_file(unit_code: str, quarter: int) -> dict:
    return {"unit_code": unit_code, "unit_name": "", "quarter": quarter, "version": 0, "submission_id": 0, "file_name": ""}


def _number(value) -> float | None:
    return None if value is None else float(value)


def _day(value) -> dt.date | None:
    # SQLite returns a date column as text.
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _with_contributions(raw: list[dict], kind: str) -> list[SourceRow]:
    # A stock counts the latest quarter of each unit as it is today: a unit merged into another
    # lives on in its successor's reports, so only the group's latest quarter counts (issue 8's
    # rule for v_year_indicator; the same as each unit's own latest quarter when nothing merged).
    latest: dict[str, int] = {}
    for r in raw:
        key = r.get("current_unit_code") or r["unit_code"]
        latest[key] = max(latest.get(key, 0), int(r["quarter"]))
    total_weight = sum(
        float(r["weight"]) for r in raw if r.get("weight") is not None and r["value"] is not None
    )
    rows = []
    for r in raw:
        value, weight = _number(r["value"]), _number(r.get("weight"))
        if value is None:
            contribution = 0.0
        elif kind == "latest":
            key = r.get("current_unit_code") or r["unit_code"]
            contribution = value if int(r["quarter"]) == latest[key] and not r.get("ended_on") else 0.0
        elif kind == "weighted_mean":
            contribution = value * weight / total_weight if weight is not None and total_weight else 0.0
        else:
            contribution = value
        rows.append(SourceRow(
            unit_code=r["unit_code"], unit_name=r["unit_name"] or "", quarter=int(r["quarter"]),
            version=int(r["version"]), file_name=r["file_name"], submission_id=int(r["submission_id"]),
            value=value, weight=weight, contribution=contribution, ended_on=_day(r.get("ended_on")),
        ))
    return rows
