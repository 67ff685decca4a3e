"""`p135 db grant-analyst`: a login that reads the views and tables and is refused every write."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner

from flows.cli import app
from warehouse.roles import PASSWORD_ENV

INSUFFICIENT_PRIVILEGE = "42501"
READ_ONLY_TRANSACTION = "25006"

REFUSED = {
    "insert": "INSERT INTO unit (unit_code, valid_from, name_vi, unit_group, unit_type) "
              "VALUES ('X1', DATE '2023-01-01', 'x', 'agencies', 'chi_bo_co_so')",
    "update": "UPDATE unit SET name_vi = 'x'",
    "delete": "DELETE FROM unit",
    "truncate": "TRUNCATE unit",
    "create-table": "CREATE TABLE analyst_scratch (n integer)",
    "create-view": "CREATE VIEW analyst_scratch AS SELECT 1 AS n",
}


def grant(warehouse, role: str):
    """Run the command as a user would."""
    return CliRunner().invoke(app, ["db", "grant-analyst", role, "--data-dir", str(warehouse.data_dir)])


def sqlstate(exc: DBAPIError) -> str | None:
    """The server's SQLSTATE for a failed statement."""
    return getattr(exc.orig, "sqlstate", None)


@pytest.fixture
def analyst(warehouse, monkeypatch) -> str:
    """A granted analyst role on a loaded PostgreSQL warehouse; the role is dropped afterwards."""
    from reporting.programme import programme_for_year
    from reporting.units import load_registry
    from warehouse.migrate import upgrade
    from warehouse.reference import load_reference

    monkeypatch.setenv("P135_DATA_DIR", str(warehouse.data_dir))
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    upgrade(warehouse.engine)
    load_reference(warehouse.engine, [programme_for_year(2023)], load_registry())
    role = f"p135_test_analyst_{uuid.uuid4().hex[:8]}"
    try:
        result = grant(warehouse, role)
        assert result.exit_code == 0, result.output
        yield role
    finally:
        # Roles are cluster-wide and outlive the test database: drop this one while its database exists.
        with warehouse.engine.begin() as conn:
            if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
                conn.execute(text(f'DROP OWNED BY "{role}"'))
                conn.execute(text(f'DROP ROLE "{role}"'))


def connect_as(warehouse, role: str) -> Engine:
    """An engine on the same database as `role`, without a password (the test server trusts 127.0.0.1)."""
    url = make_url(warehouse.url).set(username=role, password=None)
    return create_engine(url, poolclass=NullPool)


@pytest.mark.parametrize("warehouse", ["postgresql"], indirect=True)
@pytest.mark.parametrize("relation", ["v_year_end_programme135", "v_unit_quarter_indicators", "unit"])
def test_analyst_reads_views_and_tables(warehouse, analyst, relation):
    engine = connect_as(warehouse, analyst)
    with engine.connect() as conn:
        conn.execute(text(f"SELECT * FROM {relation} LIMIT 1")).all()
        count = conn.execute(text(f"SELECT count(*) FROM {relation}")).scalar_one()
    engine.dispose()
    if relation == "unit":
        assert count > 0


@pytest.mark.parametrize("warehouse", ["postgresql"], indirect=True)
@pytest.mark.parametrize("statement", list(REFUSED.values()), ids=list(REFUSED))
def test_analyst_is_refused_every_write(warehouse, analyst, statement):
    engine = connect_as(warehouse, analyst)
    with engine.connect() as conn, pytest.raises(DBAPIError) as refused:
        conn.execute(text(statement))
    assert sqlstate(refused.value) == READ_ONLY_TRANSACTION, refused.value
    # An analyst may switch the read-only default off; the privileges must refuse on their own.
    with engine.connect() as conn, pytest.raises(DBAPIError) as refused:
        conn.execute(text("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE"))
        conn.commit()
        conn.execute(text(statement))
    assert sqlstate(refused.value) == INSUFFICIENT_PRIVILEGE, refused.value
    engine.dispose()
    with warehouse.engine.connect() as conn:
        assert conn.execute(text("SELECT to_regclass('analyst_scratch')")).scalar() is None


@pytest.mark.parametrize("warehouse", ["postgresql"], indirect=True)
def test_recreated_wide_view_stays_readable(warehouse, analyst):
    from warehouse.reference import WIDE_VIEW, _recreate_wide_view

    oid = f"SELECT '{WIDE_VIEW}'::regclass::oid"
    with warehouse.engine.begin() as conn:
        before = conn.execute(text(oid)).scalar_one()
        _recreate_wide_view(conn)
        assert conn.execute(text(oid)).scalar_one() != before
    engine = connect_as(warehouse, analyst)
    with engine.connect() as conn:
        conn.execute(text(f"SELECT * FROM {WIDE_VIEW}")).all()
    engine.dispose()


@pytest.mark.parametrize("warehouse", ["postgresql"], indirect=True)
def test_grant_again_is_idempotent_and_sets_the_password(warehouse, analyst, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "s3cret: 'quoted' %s")
    result = grant(warehouse, analyst)
    assert result.exit_code == 0, result.output
    assert f"Mật khẩu lấy từ {PASSWORD_ENV}" in result.output
    with warehouse.engine.connect() as conn:
        stored = conn.execute(text("SELECT rolpassword FROM pg_authid WHERE rolname = :r"), {"r": analyst}).scalar()
        settings = conn.execute(text(
            "SELECT setconfig FROM pg_db_role_setting WHERE setrole = CAST(:r AS regrole)"
        ), {"r": analyst}).scalar()
    assert stored.startswith("SCRAM-SHA-256$")
    assert settings == ["default_transaction_read_only=on"]
    monkeypatch.delenv(PASSWORD_ENV)
    result = grant(warehouse, analyst)
    assert result.exit_code == 0, result.output
    assert "Không đặt mật khẩu" in result.output
    with warehouse.engine.connect() as conn:
        assert conn.execute(text("SELECT rolpassword FROM pg_authid WHERE rolname = :r"), {"r": analyst}).scalar() is None


@pytest.mark.parametrize("warehouse", ["postgresql"], indirect=True)
def test_existing_role_is_made_read_only(warehouse, analyst):
    with warehouse.engine.begin() as conn:
        conn.execute(text(f'ALTER ROLE "{analyst}" NOLOGIN CREATEDB NOINHERIT'))
        conn.execute(text(f'GRANT INSERT ON unit TO "{analyst}"'))
        conn.execute(text(f'GRANT CREATE ON SCHEMA public TO "{analyst}"'))
    result = grant(warehouse, analyst)
    assert result.exit_code == 0, result.output
    with warehouse.engine.connect() as conn:
        attributes = conn.execute(text(
            "SELECT rolcanlogin, rolcreatedb, rolinherit FROM pg_roles WHERE rolname = :r"
        ), {"r": analyst}).one()
        can_insert = conn.execute(text("SELECT has_table_privilege(:r, 'unit', 'INSERT')"), {"r": analyst}).scalar()
        can_create = conn.execute(text("SELECT has_schema_privilege(:r, 'public', 'CREATE')"), {"r": analyst}).scalar()
    assert tuple(attributes) == (True, False, True)
    assert not can_insert and not can_create


@pytest.mark.parametrize("warehouse", ["postgresql"], indirect=True)
def test_role_that_could_still_write_is_refused_and_nothing_changes(warehouse, analyst):
    with warehouse.engine.begin() as conn:
        conn.execute(text("CREATE TABLE analyst_owned (n integer)"))
        conn.execute(text(f'ALTER TABLE analyst_owned OWNER TO "{analyst}"'))
        conn.execute(text(f'ALTER ROLE "{analyst}" CREATEDB'))
    result = grant(warehouse, analyst)
    assert result.exit_code == 2, result.output
    assert "analyst_owned" in result.output and "Traceback" not in result.output
    with warehouse.engine.connect() as conn:
        assert conn.execute(text("SELECT rolcreatedb FROM pg_roles WHERE rolname = :r"), {"r": analyst}).scalar()


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_sqlite_has_no_roles(warehouse, monkeypatch):
    monkeypatch.setenv("P135_DATA_DIR", str(warehouse.data_dir))
    result = grant(warehouse, "analyst")
    assert result.exit_code == 2, result.output
    assert "Lỗi:" in result.output and "SQLite" in result.output and "mode=ro" in result.output
    assert "Traceback" not in result.output
    assert not (warehouse.data_dir / "warehouse.db").exists()


@pytest.mark.parametrize("role", [
    "Analyst", "1analyst", "analyst;drop", 'a"b', "a" * 64, "postgres", "p135_analyst", "pg_reader", "public",
], ids=["upper-case", "leading-digit", "semicolon", "quote", "too-long", "postgres", "group", "pg-prefix", "public"])
def test_bad_role_names_are_refused(tmp_path, monkeypatch, role):
    monkeypatch.delenv("P135_WAREHOUSE_URL", raising=False)
    monkeypatch.setenv("P135_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(app, ["db", "grant-analyst", role, "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 2, result.output
    assert "Lỗi:" in result.output and "tên vai trò" in result.output
    assert "Traceback" not in result.output


def test_empty_password_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("P135_WAREHOUSE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("P135_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv(PASSWORD_ENV, "")
    result = CliRunner().invoke(app, ["db", "grant-analyst", "analyst", "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 2, result.output
    assert f"{PASSWORD_ENV} được đặt nhưng để trống" in result.output
