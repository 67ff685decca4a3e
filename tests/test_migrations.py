"""The schema comes from migrations only, and the models say the same as the migrations."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from warehouse.migrate import current_revision, downgrade, head_revision, previous_revision, upgrade
from warehouse.models import Base


def test_upgrade_is_rerunnable_and_matches_the_models(warehouse):
    engine = warehouse.engine
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        drift = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        views = set(inspect(conn).get_view_names())
    assert drift == []
    assert {"v_year_end_programme135", "v_submission_status", "v_unit_year_indicator"} <= views


def test_upgrading_a_filled_warehouse_keeps_every_row(demo_copy):
    """The demo year taken back to the previous head, then upgraded: no row is lost.

    Its data is the demo's as the previous head can hold it (a column the head added is dropped).
    """
    from sqlalchemy import text

    from reporting.programme import all_programmes
    from reporting.units import load_registry
    from tests.test_collect import snapshot
    from tests.test_golden import check_golden, year_end_2023
    from warehouse.reference import load_reference

    engine = demo_copy.warehouse.engine
    previous = previous_revision()
    downgrade(engine, previous)
    assert current_revision(engine) == previous
    before = snapshot(engine, skip=("collect_lock",))
    with engine.connect() as conn:
        submissions = conn.execute(text("SELECT COUNT(*) FROM submission")).scalar_one()
    assert submissions > 250

    upgrade(engine)
    load_reference(engine, all_programmes(), load_registry())

    assert current_revision(engine) == head_revision()
    assert snapshot(engine, skip=("collect_lock",), like=before) == before
    check_golden(year_end_2023(engine))
