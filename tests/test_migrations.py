"""The schema comes from migrations only, and the models say the same as the migrations."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from warehouse.migrate import current_revision, head_revision, upgrade
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
