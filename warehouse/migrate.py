"""Bring a warehouse's schema to the latest migration."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(_config(None)).get_current_head()


def previous_revision() -> str | None:
    """The revision just before head: what an existing warehouse upgrades from."""
    return ScriptDirectory.from_config(_config(None)).get_revision(head_revision()).down_revision


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply pending migrations; does nothing when the schema is current."""
    if revision == "head" and current_revision(engine) == head_revision():
        return
    command.upgrade(_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to `revision` (data in tables that survive is kept)."""
    command.downgrade(_config(engine), revision)
