"""A year's figures name and place each unit as it stood at that year's end.

The year views took a unit's name and group from its latest version and rolled a merged unit
into the unit it belongs to today: a 2024 registry (a unit renamed, moved to another group, or
merged in July 2024) changed what v_unit_year_indicator, v_unit_year_indicator_rollup and the
group views said of 2023, which had been reported and issued, and a unit that moved group during
a year had its key tasks counted under another group than its indicators. The table `unit_year`
(one row per unit and year with a programme, rebuilt whenever the registry or a programme is
loaded) holds each unit's last version of the year and the unit it belonged to at the year's
end; the year views read it, v_key_task_latest too (one row per unit, year and task). Columns are
unchanged; `current_unit_code` of v_unit_year_indicator and v_key_task_latest is now the unit at
the year's end. Quarter views keep the version in force
on the quarter's last day, as before.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TABLE_COMMENT = (
    "One row per unit and reporting year (a year with a programme) in which the unit was in force: its last "
    "version of the year and the unit it belonged to at the year's end, after the mergers of that year and "
    "before (derived from unit and period; rebuilt whenever either is loaded). A year's figures read units from "
    "here, so a later rename, move or merger leaves a past year as it was."
)

FILL = """
WITH RECURSIVE span AS (
    SELECT year, MIN(starts_on) AS first_day, MAX(ends_on) AS last_day FROM period GROUP BY year
),
version AS (
    SELECT s.year, s.last_day, u.unit_code, u.name_vi, u.unit_group, u.unit_type, u.valid_to,
           u.successor_unit_code,
           ROW_NUMBER() OVER (PARTITION BY s.year, u.unit_code ORDER BY u.valid_from DESC) AS version_rank
    FROM span s
    JOIN unit u ON u.valid_from <= s.last_day AND (u.valid_to IS NULL OR u.valid_to >= s.first_day)
),
at_end AS (
    SELECT year, unit_code, name_vi, unit_group, unit_type,
           CASE WHEN valid_to < last_day THEN valid_to END AS ended_on,
           CASE WHEN valid_to < last_day THEN successor_unit_code END AS successor_unit_code
    FROM version
    WHERE version_rank = 1
),
chain (year, unit_code, year_end_unit_code, depth) AS (
    SELECT year, unit_code, unit_code, 0 FROM at_end
    UNION ALL
    SELECT c.year, c.unit_code, CAST(a.successor_unit_code AS VARCHAR(20)), c.depth + 1
    FROM chain c
    JOIN at_end a ON a.year = c.year AND a.unit_code = c.year_end_unit_code
    WHERE a.successor_unit_code IS NOT NULL
      AND a.successor_unit_code IN (SELECT unit_code FROM at_end WHERE year = a.year)
      AND c.depth < 50
),
deepest AS (
    SELECT year, unit_code, year_end_unit_code,
           ROW_NUMBER() OVER (PARTITION BY year, unit_code ORDER BY depth DESC) AS depth_rank
    FROM chain
)
INSERT INTO unit_year (unit_code, year, unit_name, unit_group, unit_type, ended_on, successor_unit_code,
                       year_end_unit_code, is_merged)
SELECT a.unit_code, a.year, a.name_vi, a.unit_group, a.unit_type, a.ended_on, a.successor_unit_code,
       d.year_end_unit_code, (d.year_end_unit_code <> a.unit_code)
FROM at_end a
JOIN deepest d ON d.year = a.year AND d.unit_code = a.unit_code AND d.depth_rank = 1
"""

WEIGHTS = """
    SELECT submission_id, indicator_code, value FROM submission_indicator
    WHERE indicator_code IN (SELECT weight_indicator_code FROM indicator WHERE weight_indicator_code IS NOT NULL)
"""


def _at_quarter(expression: str, quarter: str) -> str:
    cases = " ".join(f"WHEN {q} THEN {expression}_{q}" for q in (4, 3, 2, 1))
    return f"CASE {quarter} {cases} END"


def _per_quarter(expression: str, name: str) -> str:
    return ",\n".join(
        f"           MAX(CASE WHEN quarter = {q} THEN {expression} END) AS {name}_{q}" for q in (1, 2, 3, 4)
    )


def _year_by(name: str, rollup: bool) -> str:
    """A unit's (or, rolled up, a year-end unit's) year from its quarters, by each indicator's
    rule, as revision 0010 made it; the unit's name, group and year-end unit from unit_year."""
    key = "yu.year_end_unit_code" if rollup else "c.unit_code"
    group = "yu.year_end_unit_code, c.unit_code" if rollup else "c.unit_code"
    join = "JOIN unit_year yu ON yu.unit_code = c.unit_code AND yu.year = c.year" if rollup else ""
    per_quarter = f"""
    SELECT {key} AS unit_code, c.unit_code AS member_code, c.year, c.quarter, c.indicator_code, i.aggregation,
           SUM(c.value) AS value,
           SUM(c.plan_value) AS plan_value,
           SUM(c.value * w.value) AS weighted_value,
           SUM(CASE WHEN c.value IS NOT NULL THEN w.value END) AS weight,
           SUM(c.plan_value * w.value) AS weighted_plan,
           SUM(CASE WHEN c.plan_value IS NOT NULL THEN w.value END) AS plan_weight
    FROM v_unit_quarter_indicator c
    {join}
    JOIN period p ON p.year = c.year AND p.quarter = c.quarter
    JOIN indicator i ON i.programme_code = p.programme_code AND i.indicator_code = c.indicator_code
    LEFT JOIN ({WEIGHTS}) w ON w.submission_id = c.submission_id
                            AND w.indicator_code = i.weight_indicator_code
    GROUP BY {group}, c.year, c.quarter, c.indicator_code, i.aggregation"""
    if not rollup:
        quarters = f"""q AS (
    SELECT unit_code, year, quarter, indicator_code, aggregation, 1 AS members, value, plan_value,
           weighted_value, weight, weighted_plan, plan_weight
    FROM ({per_quarter}
    ) m
),
"""
        extra = "l.year_end_unit_code AS current_unit_code,"
    else:
        quarters = f"""member_quarter AS ({per_quarter}
),
q AS (
    SELECT unit_code, year, quarter, indicator_code, aggregation,
           COUNT(*) AS members,
           SUM(value) AS value,
           SUM(plan_value) AS plan_value,
           SUM(weighted_value) AS weighted_value,
           SUM(weight) AS weight,
           SUM(weighted_plan) AS weighted_plan,
           SUM(plan_weight) AS plan_weight
    FROM member_quarter
    GROUP BY unit_code, year, quarter, indicator_code, aggregation
),
"""
        extra = "y.members AS units_reporting,"
    return f"""
CREATE VIEW {name} AS
WITH {quarters}year_figure AS (
    SELECT unit_code, year, indicator_code, aggregation,
           COUNT(value) AS quarters_reported,
           MAX(members) AS members,
           SUM(value) AS value_sum,
           SUM(weighted_value) AS weighted_value,
           SUM(weight) AS weight,
           MAX(quarter) AS last_quarter,
           MAX(CASE WHEN plan_value IS NOT NULL THEN quarter END) AS plan_quarter,
{_per_quarter("value", "value")},
{_per_quarter("plan_value", "plan")},
{_per_quarter("weighted_plan / NULLIF(plan_weight, 0)", "weighted_plan")}
    FROM q
    GROUP BY unit_code, year, indicator_code, aggregation
),
figure AS (
    SELECT unit_code, year, indicator_code, aggregation, quarters_reported, members,
           CASE aggregation
               WHEN 'sum' THEN value_sum
               WHEN 'latest' THEN {_at_quarter("value", "last_quarter")}
               WHEN 'weighted_mean' THEN weighted_value / NULLIF(weight, 0)
           END AS value,
           CASE aggregation
               WHEN 'weighted_mean' THEN {_at_quarter("weighted_plan", "plan_quarter")}
               ELSE {_at_quarter("plan", "plan_quarter")}
           END AS plan_value,
           CASE WHEN aggregation = 'weighted_mean' THEN weight END AS weight
    FROM year_figure
)
SELECT y.unit_code, l.unit_name, l.unit_group, {extra}
       y.year, y.indicator_code, y.aggregation, y.quarters_reported,
       y.value, y.plan_value, y.weight
FROM figure y
JOIN unit_year l ON l.unit_code = y.unit_code AND l.year = y.year
"""


def _across_units(name: str, keys: str) -> str:
    """Flows and weighted means from each unit's own year, stocks from the roll-up of the units
    that exist at the year's end (a unit merged that year part of its successor)."""
    return f"""
CREATE VIEW {name} AS
SELECT {keys}, indicator_code, aggregation,
       COUNT(value) AS units_reporting,
       CASE WHEN aggregation = 'weighted_mean'
            THEN SUM(value * weight) / NULLIF(SUM(CASE WHEN value IS NOT NULL THEN weight END), 0)
            ELSE SUM(value) END AS value,
       CASE WHEN aggregation = 'weighted_mean'
            THEN SUM(plan_value * weight)
                 / NULLIF(SUM(CASE WHEN plan_value IS NOT NULL THEN weight END), 0)
            ELSE SUM(plan_value) END AS plan_value
FROM v_unit_year_indicator
WHERE aggregation <> 'latest'
GROUP BY {keys}, indicator_code, aggregation
UNION ALL
SELECT {keys}, indicator_code, aggregation,
       CAST(COALESCE(SUM(CASE WHEN value IS NOT NULL THEN units_reporting END), 0) AS BIGINT)
           AS units_reporting,
       SUM(value) AS value,
       SUM(plan_value) AS plan_value
FROM v_unit_year_indicator_rollup r
WHERE aggregation = 'latest'
  AND NOT EXISTS (
      SELECT 1 FROM unit_year l
      WHERE l.unit_code = r.unit_code AND l.year = r.year AND l.ended_on IS NOT NULL)
GROUP BY {keys}, indicator_code, aggregation
"""


# A key task's year, like a unit's indicators: the unit named, grouped and rolled up as it stood
# at the year's end (it took the name and group of the task's last quarter, and the unit the task's
# unit belongs to today).
KEY_TASK_LATEST = """
CREATE VIEW v_key_task_latest AS
SELECT t.unit_code, t.year, t.quarter AS last_quarter, u.unit_name, u.unit_group,
       u.year_end_unit_code AS current_unit_code, t.task_code, t.content_vi, t.source_code, t.status_code,
       t.completed_on, st.is_completed
FROM (
    SELECT c.unit_code, c.year, c.quarter,
           k.task_code, k.content_vi, k.source_code, k.status_code, k.completed_on,
           ROW_NUMBER() OVER (PARTITION BY c.unit_code, c.year, k.task_code
                              ORDER BY c.quarter DESC) AS state_rank
    FROM v_current_submission c
    JOIN submission_key_task k ON k.submission_id = c.submission_id
) t
JOIN unit_year u ON u.unit_code = t.unit_code AND u.year = t.year
JOIN programme p ON p.year = t.year
LEFT JOIN task_status st ON st.programme_code = p.programme_code AND st.status_code = t.status_code
WHERE t.state_rank = 1
"""

KEY_TASKS_BY_SOURCE = """
CREATE VIEW v_key_tasks_by_source AS
SELECT t.year, t.unit_group, t.source_code AS source, s.label_vi AS source_label_vi,
       COUNT(*) AS identified,
       SUM(CASE WHEN t.is_completed THEN 1 ELSE 0 END) AS completed
FROM v_key_task_latest t
JOIN programme p ON p.year = t.year
LEFT JOIN task_source s ON s.programme_code = p.programme_code AND s.source_code = t.source_code
GROUP BY t.year, t.unit_group, t.source_code, s.label_vi
"""

# In the order they are created; dropped in reverse (v_year_end_programme135 reads v_year_indicator
# and v_key_task_latest).
VIEWS = (
    ("v_unit_year_indicator", _year_by("v_unit_year_indicator", rollup=False)),
    ("v_unit_year_indicator_rollup", _year_by("v_unit_year_indicator_rollup", rollup=True)),
    ("v_year_group_indicator", _across_units("v_year_group_indicator", "year, unit_group")),
    ("v_year_indicator", _across_units("v_year_indicator", "year")),
    ("v_key_task_latest", KEY_TASK_LATEST),
    ("v_key_tasks_by_source", KEY_TASKS_BY_SOURCE),
)
YEAR_END = "v_year_end_programme135"


def _previous_views() -> dict[str, str]:
    """Each view above as revision 0012 left it."""
    script = op.get_context().script
    found = dict(script.get_revision("0010").module.VIEWS)
    found.update(script.get_revision("0012").module.VIEWS)
    return found


def _make(views: dict[str, str]) -> None:
    op.execute(f"DROP VIEW IF EXISTS {YEAR_END}")
    for name, _ in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    for name, _ in VIEWS:
        op.execute(views[name])
    op.execute(op.get_context().script.get_revision("0010").module.YEAR_END)


def upgrade() -> None:
    op.create_table(
        "unit_year",
        sa.Column("unit_code", sa.String(length=20), nullable=False, comment="Unit code"),
        sa.Column("year", sa.Integer(), nullable=False, comment="Reporting year"),
        sa.Column("unit_name", sa.String(length=300), nullable=False,
                  comment="Name in its last version in force in the year"),
        sa.Column("unit_group", sa.String(length=20), nullable=False,
                  comment="Group in its last version in force in the year"),
        sa.Column("unit_type", sa.String(length=20), nullable=False,
                  comment="Type in its last version in force in the year"),
        sa.Column("ended_on", sa.Date(), nullable=True,
                  comment="Last day in force, when it ended before the year's last day; null when it existed at the year's end"),
        sa.Column("successor_unit_code", sa.String(length=20), nullable=True,
                  comment="Unit it was merged into during the year (null otherwise)"),
        sa.Column("year_end_unit_code", sa.String(length=20), nullable=False,
                  comment="Unit it belonged to at the year's end, after the mergers up to then (itself when not merged)"),
        sa.Column("is_merged", sa.Boolean(), nullable=False, comment="year_end_unit_code is another unit"),
        sa.PrimaryKeyConstraint("unit_code", "year", name=op.f("pk_unit_year")),
        comment=TABLE_COMMENT,
    )
    op.create_index("ix_unit_year_year_end_unit_code", "unit_year", ["year", "year_end_unit_code"])
    op.execute(FILL)
    _make(dict(VIEWS))


def downgrade() -> None:
    _make(_previous_views())
    op.drop_index("ix_unit_year_year_end_unit_code", table_name="unit_year")
    op.drop_table("unit_year")
