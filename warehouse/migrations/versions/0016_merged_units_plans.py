"""A successor's plan for the year adds the plans of the units merged into it.

v_unit_year_indicator_rollup added the figures of a unit merged during the year to its successor,
but took the group's plan from its latest quarter with a plan, after the merger: only the
successor's own. An enterprise that took in another in July showed the year's budget of both
against its own plan (134% where the two together reached 83%), and the enterprises' rows no
longer added up to the group's plan, which adds up each unit's own. For a flow (sum) the roll-up's
plan is now the sum of its members' own plans for the year, and for a weighted mean their weighted
mean (each member weighted by its year's weight), as v_year_indicator aggregates units; a unit
that took in no one (one member all year) and stocks (latest) keep the plan they had. Columns are
unchanged.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

ROLLUP = "v_unit_year_indicator_rollup"
# Read the roll-up, and are dropped and made again around it (in this order).
READERS = ("v_year_group_indicator", "v_year_indicator")
YEAR_END = "v_year_end_programme135"


def _earlier(revision: str):
    return op.get_context().script.get_revision(revision).module


def _at_quarter(expression: str, quarter: str) -> str:
    cases = " ".join(f"WHEN {q} THEN {expression}_{q}" for q in (4, 3, 2, 1))
    return f"CASE {quarter} {cases} END"


def _per_quarter(expression: str, name: str) -> str:
    return ",\n".join(
        f"           MAX(CASE WHEN quarter = {q} THEN {expression} END) AS {name}_{q}" for q in (1, 2, 3, 4)
    )


def rollup() -> str:
    weights = _earlier("0013").WEIGHTS
    return f"""
CREATE VIEW {ROLLUP} AS
WITH member_quarter AS (
    SELECT yu.year_end_unit_code AS unit_code, c.unit_code AS member_code, c.year, c.quarter, c.indicator_code,
           i.aggregation,
           SUM(c.value) AS value,
           SUM(c.plan_value) AS plan_value,
           SUM(c.value * w.value) AS weighted_value,
           SUM(CASE WHEN c.value IS NOT NULL THEN w.value END) AS weight,
           SUM(c.plan_value * w.value) AS weighted_plan,
           SUM(CASE WHEN c.plan_value IS NOT NULL THEN w.value END) AS plan_weight
    FROM v_unit_quarter_indicator c
    JOIN unit_year yu ON yu.unit_code = c.unit_code AND yu.year = c.year
    JOIN period p ON p.year = c.year AND p.quarter = c.quarter
    JOIN indicator i ON i.programme_code = p.programme_code AND i.indicator_code = c.indicator_code
    LEFT JOIN ({weights}) w ON w.submission_id = c.submission_id
                            AND w.indicator_code = i.weight_indicator_code
    GROUP BY yu.year_end_unit_code, c.unit_code, c.year, c.quarter, c.indicator_code, i.aggregation
),
-- Partitioned by aggregation too (one per indicator): a reader's filter on it, and on the year, reaches
-- below the windows (v_year_indicator reads the stocks alone).
member_plan AS (
    SELECT unit_code, year, quarter, indicator_code, aggregation, value, plan_value, weighted_value, weight,
           weighted_plan, plan_weight,
           CASE WHEN plan_rank = 1 THEN own_plan END AS own_plan,
           CASE WHEN plan_rank = 1 THEN own_weight END AS own_weight
    FROM (
        SELECT m.*,
               CASE WHEN aggregation = 'weighted_mean' THEN weighted_plan / NULLIF(plan_weight, 0)
                    ELSE plan_value END AS own_plan,
               SUM(weight) OVER (PARTITION BY member_code, year, indicator_code, aggregation) AS own_weight,
               ROW_NUMBER() OVER (PARTITION BY member_code, year, indicator_code, aggregation
                                  ORDER BY CASE WHEN plan_value IS NULL THEN 1 ELSE 0 END, quarter DESC) AS plan_rank
        FROM member_quarter m
    ) ranked
),
q AS (
    SELECT unit_code, year, quarter, indicator_code, aggregation,
           COUNT(*) AS members,
           SUM(value) AS value,
           SUM(plan_value) AS plan_value,
           SUM(weighted_value) AS weighted_value,
           SUM(weight) AS weight,
           SUM(weighted_plan) AS weighted_plan,
           SUM(plan_weight) AS plan_weight,
           SUM(own_plan) AS own_plan,
           SUM(own_plan * own_weight) AS own_weighted_plan,
           SUM(CASE WHEN own_plan IS NOT NULL THEN own_weight END) AS own_plan_weight
    FROM member_plan
    GROUP BY unit_code, year, quarter, indicator_code, aggregation
),
year_figure AS (
    SELECT unit_code, year, indicator_code, aggregation,
           COUNT(value) AS quarters_reported,
           MAX(members) AS members,
           SUM(value) AS value_sum,
           SUM(weighted_value) AS weighted_value,
           SUM(weight) AS weight,
           SUM(own_plan) AS members_plan,
           SUM(own_weighted_plan) AS members_weighted_plan,
           SUM(own_plan_weight) AS members_plan_weight,
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
           CASE
               WHEN members > 1 AND aggregation = 'sum' THEN members_plan
               WHEN members > 1 AND aggregation = 'weighted_mean'
                   THEN members_weighted_plan / NULLIF(members_plan_weight, 0)
               WHEN aggregation = 'weighted_mean' THEN {_at_quarter("weighted_plan", "plan_quarter")}
               ELSE {_at_quarter("plan", "plan_quarter")}
           END AS plan_value,
           CASE WHEN aggregation = 'weighted_mean' THEN weight END AS weight
    FROM year_figure
)
SELECT y.unit_code, l.unit_name, l.unit_group, y.members AS units_reporting,
       y.year, y.indicator_code, y.aggregation, y.quarters_reported,
       y.value, y.plan_value, y.weight
FROM figure y
JOIN unit_year l ON l.unit_code = y.unit_code AND l.year = y.year
"""


def _make(rollup_view: str) -> None:
    views = dict(_earlier("0013").VIEWS)
    op.execute(f"DROP VIEW IF EXISTS {YEAR_END}")
    for name in reversed(READERS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    op.execute(f"DROP VIEW IF EXISTS {ROLLUP}")
    op.execute(rollup_view)
    for name in READERS:
        op.execute(views[name])
    op.execute(_earlier("0010").YEAR_END)


def upgrade() -> None:
    _make(rollup())


def downgrade() -> None:
    _make(dict(_earlier("0013").VIEWS)[ROLLUP])
