"""A stock at year end counts only the units that still exist then.

A unit closed during the year without a successor (dissolved, not merged) kept its last quarter
in v_year_indicator and v_year_group_indicator: a party cell dissolved in June still added its
26 members to the bloc's members at year end, though they had moved to other cells and were
counted there too. A merged unit is unchanged: it lives on in its successor. The stock branch of
both views now leaves out a merged group whose unit ended before the year's last quarter ended;
flows and weighted means, and every per-unit view, are unchanged. v_year_end_programme135 reads
v_year_indicator and is made again as revision 0010 made it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# A group whose unit (the end of its merger chain) had not ended before the year's fourth quarter ended.
EXISTS_AT_YEAR_END = """NOT EXISTS (
      SELECT 1 FROM unit_lineage l
      JOIN period p ON p.quarter = 4
      WHERE l.unit_code = r.unit_code AND p.year = r.year AND l.valid_to < p.ends_on)"""


def _across_units(name: str, keys: str) -> str:
    """A view aggregating a year over units: flows and weighted means from each unit's own year,
    stocks from the roll-up of the units that exist at year end, a merged unit part of its successor."""
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
  AND {EXISTS_AT_YEAR_END}
GROUP BY {keys}, indicator_code, aggregation
"""


VIEWS = (
    ("v_year_group_indicator", _across_units("v_year_group_indicator", "year, unit_group")),
    ("v_year_indicator", _across_units("v_year_indicator", "year")),
)
YEAR_END = "v_year_end_programme135"


def _make(views: dict[str, str]) -> None:
    op.execute(f"DROP VIEW IF EXISTS {YEAR_END}")
    for name, _ in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    for name, _ in VIEWS:
        op.execute(views[name])
    op.execute(op.get_context().script.get_revision("0010").module.YEAR_END)


def upgrade() -> None:
    _make(dict(VIEWS))


def downgrade() -> None:
    _make(dict(op.get_context().script.get_revision("0010").module.VIEWS))
