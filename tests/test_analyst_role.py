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
from warehouse.roles import PASSWORD_ENV, group_for

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
        drop_roles(warehouse.engine, role, group_for(make_url(warehouse.url).database))


def drop_roles(engine: Engine, *roles: str) -> None:
    """Roles are cluster-wide and outlive the test database: drop them while their database exists."""
    with engine.begin() as conn:
        for role in roles:
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
    assert settings == ["default_transaction_read_only=on", "statement_timeout=15min",
                        "idle_in_transaction_session_timeout=30min"]
    monkeypatch.delenv(PASSWORD_ENV)
    # Granted again to change a limit, without the variable: the analyst is not locked out.
    result = CliRunner().invoke(app, ["db", "grant-analyst", analyst, "--statement-timeout", "5",
                                      "--data-dir", str(warehouse.data_dir)])
    assert result.exit_code == 0, result.output
    assert f"Mật khẩu của {analyst} giữ nguyên như trước" in result.output
    with warehouse.engine.connect() as conn:
        assert conn.execute(text("SELECT rolpassword FROM pg_authid WHERE rolname = :r"), {"r": analyst}).scalar() == stored
    monkeypatch.setenv(PASSWORD_ENV, "other")
    both = CliRunner().invoke(app, ["db", "grant-analyst", analyst, "--remove-password",
                                    "--data-dir", str(warehouse.data_dir)])
    assert both.exit_code == 2 and "hãy chọn một trong hai" in both.output, both.output
    monkeypatch.delenv(PASSWORD_ENV)
    result = CliRunner().invoke(app, ["db", "grant-analyst", analyst, "--remove-password",
                                      "--data-dir", str(warehouse.data_dir)])
    assert result.exit_code == 0, result.output
    assert "Đã xóa mật khẩu" in result.output
    with warehouse.engine.connect() as conn:
        assert conn.execute(text("SELECT rolpassword FROM pg_authid WHERE rolname = :r"), {"r": analyst}).scalar() is None


@pytest.mark.parametrize("warehouse", ["postgresql"], indirect=True)
def test_an_analysts_runaway_query_is_stopped_by_the_server(warehouse, analyst):
    """A cross join that would run for hours, or a client killed mid-query, does not load the
    production server indefinitely: the role's statement limit stops it."""
    result = CliRunner().invoke(app, ["db", "grant-analyst", analyst, "--statement-timeout", "1",
                                      "--idle-timeout", "0", "--data-dir", str(warehouse.data_dir)])
    assert result.exit_code == 0, result.output
    assert "Máy chủ dừng một câu lệnh chạy quá 1 phút" in " ".join(result.output.split())
    engine = connect_as(warehouse, analyst)
    try:
        with engine.connect() as conn:
            limits = conn.execute(text("SELECT current_setting('statement_timeout'), "
                                       "current_setting('idle_in_transaction_session_timeout')")).one()
            assert tuple(limits) == ("1min", "0")
            conn.execute(text("SET statement_timeout = '200ms'"))
            with pytest.raises(DBAPIError) as stopped:
                conn.execute(text("SELECT pg_sleep(5)"))
            assert sqlstate(stopped.value) == "57014", "query_canceled by statement_timeout"
    finally:
        engine.dispose()


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
    assert "would still" not in result.output, "the refusal is Vietnamese"
    assert "vẫn có thể ghi hoặc tạo đối tượng (ghi vào bảng analyst_owned)" in " ".join(result.output.split())
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
    "p135_analyst_kho",
], ids=["upper-case", "leading-digit", "semicolon", "quote", "too-long", "postgres", "group", "pg-prefix", "public", "group-prefix"])
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


def _loaded(url: str) -> Engine:
    from reporting.programme import programme_for_year
    from reporting.units import load_registry
    from warehouse.engine import make_engine
    from warehouse.migrate import upgrade
    from warehouse.reference import load_reference

    engine = make_engine(url)
    upgrade(engine)
    load_reference(engine, [programme_for_year(2023)], load_registry())
    return engine


def _as(url: str, role: str) -> Engine:
    return create_engine(make_url(url).set(username=role, password=None), poolclass=NullPool)


def _refused(engine: Engine, statement: str, read_write: bool = True) -> str | None:
    """The SQLSTATE with which the server refuses `statement` (None: it was allowed)."""
    try:
        with engine.connect() as conn:
            if read_write:
                conn.execute(text("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE"))
                conn.commit()
            conn.execute(text(statement))
    except DBAPIError as exc:
        return sqlstate(exc)
    return None


@pytest.mark.parametrize("warehouse", ["postgresql"], indirect=True)
def test_two_warehouses_on_one_server_keep_their_analysts_apart(warehouse, postgres_databases, monkeypatch):
    """ana1 of warehouse A and ana2 of warehouse B each read their own warehouse and cannot even
    connect to the other; neither may create temporary tables or large objects; an analyst granted
    by the old server-wide group loses it."""
    from warehouse.roles import OLD_GROUP

    url_a, url_b = warehouse.url, postgres_databases.create()
    db_a, db_b = make_url(url_a).database, make_url(url_b).database
    engine_a, engine_b = _loaded(url_a), _loaded(url_b)
    suffix = uuid.uuid4().hex[:8]
    ana1, ana2 = f"p135_test_ana1_{suffix}", f"p135_test_ana2_{suffix}"
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    try:
        # ana1 as an earlier p135 left it: a member of the server-wide group, which reads A.
        with engine_a.begin() as conn:
            conn.execute(text(f"DO $$ BEGIN CREATE ROLE {OLD_GROUP} NOLOGIN; "
                              "EXCEPTION WHEN duplicate_object THEN NULL; END $$"))
            conn.execute(text(f'CREATE ROLE "{ana1}" LOGIN'))
            conn.execute(text(f'GRANT {OLD_GROUP} TO "{ana1}"'))
            conn.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {OLD_GROUP}"))
        for url, role in ((url_a, ana1), (url_b, ana2)):
            monkeypatch.setenv("P135_WAREHOUSE_URL", url)
            result = grant(warehouse, role)
            assert result.exit_code == 0, result.output

        with _as(url_a, ana1).connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM unit")).scalar_one() > 0
            conn.execute(text("SELECT count(*) FROM submission")).scalar_one()
        with _as(url_b, ana2).connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM unit")).scalar_one() > 0
        for url, role in ((url_b, ana1), (url_a, ana2)):
            with pytest.raises(DBAPIError) as refused:
                _as(url, role).connect().close()
            assert "permission denied for database" in str(refused.value)
        analyst = _as(url_a, ana1)
        assert _refused(analyst, "CREATE TEMP TABLE scratch (n integer)") == INSUFFICIENT_PRIVILEGE
        assert _refused(analyst, "SELECT lo_create(0)") == INSUFFICIENT_PRIVILEGE
        assert _refused(analyst, "SELECT lo_from_bytea(0, 'x')") == INSUFFICIENT_PRIVILEGE
        with engine_a.connect() as conn:
            group_a, group_b = group_for(db_a), group_for(db_b)
            assert conn.execute(text(
                "SELECT has_database_privilege(:a, :da, 'CONNECT'), has_database_privilege(:a, :db, 'CONNECT'), "
                "has_database_privilege('public', :da, 'CONNECT'), has_database_privilege('public', :da, 'TEMP'), "
                "has_table_privilege(:old, 'submission', 'SELECT'), pg_has_role(:ana1, :old, 'MEMBER')"
            ), {"a": group_a, "da": db_a, "db": db_b, "old": OLD_GROUP, "ana1": ana1}).one() == (
                True, False, False, False, False, False)
            assert group_a != group_b
    finally:
        drop_roles(engine_a, ana1, group_for(db_a))
        drop_roles(engine_b, ana2, group_for(db_b))
        engine_a.dispose()
        engine_b.dispose()
        postgres_databases.drop(url_b)


@pytest.mark.parametrize("warehouse", ["postgresql"], indirect=True)
def test_an_analyst_holding_p135_locks_cannot_stall_a_run(warehouse, analyst):
    """An analyst may take any advisory lock or keep a transaction open: set-up and the quarter
    lock give up after their bounded wait, naming the analyst."""
    from tasks.prepare import bring_up_to_date
    from warehouse.locks import QUARTER_LOCK_CLASS, SCHEMA_LOCK_KEY, QuarterBusy, SetupBusy, quarter_lock, setup_session
    from warehouse.reference import WIDE_VIEW, _recreate_wide_view

    engine = warehouse.engine
    with connect_as(warehouse, analyst).connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:c, 20231), pg_advisory_lock(:s)"),
                     {"c": QUARTER_LOCK_CLASS, "s": SCHEMA_LOCK_KEY})
        conn.commit()
        with pytest.raises(QuarterBusy) as busy:
            with quarter_lock(engine, 2023, 1, "a collect run", wait_seconds=1):
                raise AssertionError("the analyst holds the quarter's key")
        assert analyst in str(busy.value)
        with pytest.raises(SetupBusy) as busy:
            bring_up_to_date(warehouse.data_dir, wait_seconds=1)
        assert analyst in str(busy.value)
        conn.execute(text("SELECT pg_advisory_unlock_all()"))
        conn.commit()
        # An open transaction that read the wide view: recreating it (a programme load) waits for it.
        conn.execute(text(f"SELECT count(*) FROM {WIDE_VIEW}"))
        with pytest.raises(SetupBusy) as busy:
            with setup_session(engine, wait_seconds=1) as bounded, bounded.begin() as ddl:
                _recreate_wide_view(ddl)
        assert analyst in str(busy.value)
    with quarter_lock(engine, 2023, 1, "a collect run", wait_seconds=0) as lock:
        lock.ensure_held()


def test_each_warehouse_has_its_own_group_within_63_bytes():
    long_a, long_b = "kho_" + "a" * 60 + "_2023", "kho_" + "a" * 60 + "_2024"
    assert group_for("p135") == "p135_analyst_p135"
    groups = [group_for(name) for name in (long_a, long_b, "kho_" + "ả" * 40)]
    assert all(len(g.encode()) <= 63 and g.startswith("p135_analyst_kho_") for g in groups)
    assert len(set(groups)) == 3
    groups[2].encode("utf-8")  # never a cut character


@pytest.mark.parametrize("warehouse", ["postgresql"], indirect=True)
@pytest.mark.parametrize("read_only_default", ["on", "off"], ids=["as-granted", "default-turned-off"])
def test_p135_run_with_the_analysts_login_reads_status_and_refuses_writes_in_one_line(warehouse, analyst,
                                                                                     read_only_default):
    """With the read-only default turned off in the URL, collect crashed with four tracebacks and
    publish advised granting TEMPORARY to the analyst: the privileges are what refuse, and say so."""
    url = make_url(warehouse.url).set(username=analyst, password=None)
    if read_only_default == "off":
        url = url.update_query_dict({"options": "-c default_transaction_read_only=off"})
    data = ["--data-dir", str(warehouse.data_dir)]
    # Undone before the role is dropped, which takes the owner's login.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("P135_WAREHOUSE_URL", url.render_as_string(hide_password=False))
        status = CliRunner().invoke(app, ["status", "--year", "2023", "--quarter", "1", *data])
        approve = CliRunner().invoke(app, ["approve", "--year", "2023", "--quarter", "1", "--by", "Nguyễn Văn A", *data])
        publish = CliRunner().invoke(app, ["publish", "--year", "2023", *data])
        collect = CliRunner().invoke(app, ["collect", "--year", "2023", "--quarter", "1", *data])

    assert status.exit_code == 0, status.output
    assert "Quý I/2023: hạn nộp" in status.output
    for refused in (approve, publish, collect):
        assert refused.exit_code == 2, refused.output
        assert f"{analyst}@" in refused.output and "chỉ được đọc kho" in refused.output
        assert "Traceback" not in refused.output


@pytest.mark.parametrize("warehouse", ["postgresql"], indirect=True)
def test_a_superusers_name_is_refused_saying_why(warehouse, monkeypatch):
    monkeypatch.setenv("P135_DATA_DIR", str(warehouse.data_dir))
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    role = f"p135_test_admin_{uuid.uuid4().hex[:8]}"
    with warehouse.engine.begin() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" SUPERUSER'))
    try:
        result = grant(warehouse, role)
    finally:
        drop_roles(warehouse.engine, role)
    assert result.exit_code == 2, result.output
    assert f"vai trò {role} đã có và là superuser: p135 không hạ quyền một quản trị viên" in " ".join(result.output.split())
    assert "chỉ gồm 1-63 chữ thường" not in result.output


@pytest.mark.parametrize("warehouse", ["postgresql"], indirect=True)
def test_a_service_account_without_temporary_is_told_what_to_grant(warehouse, analyst):
    """After grant-analyst took TEMPORARY from PUBLIC, a second service account granted CONNECT
    and the tables (not the database's owner) cannot publish: one Vietnamese line naming the
    grant, not a traceback ending in "current transaction is aborted"."""
    service = f"p135_test_service_{uuid.uuid4().hex[:8]}"
    database = make_url(warehouse.url).database
    with warehouse.engine.begin() as conn:
        conn.execute(text(f'CREATE ROLE "{service}" LOGIN'))
        conn.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO "{service}"'))
        conn.execute(text(f'GRANT USAGE, CREATE ON SCHEMA public TO "{service}"'))
        conn.execute(text(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{service}"'))
    url = make_url(warehouse.url).set(username=service, password=None)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("P135_WAREHOUSE_URL", url.render_as_string(hide_password=False))
            publish = CliRunner().invoke(app, ["publish", "--year", "2023", "--data-dir", str(warehouse.data_dir)])
    finally:
        drop_roles(warehouse.engine, service)

    output = " ".join(publish.output.split())
    assert publish.exit_code == 1, publish.output
    assert f"Tài khoản PostgreSQL «{service}» của p135 không được tạo bảng tạm trong cơ sở dữ liệu «{database}»" in output
    assert f'GRANT TEMPORARY ON DATABASE "{database}" TO "{service}"' in output
    assert "Traceback" not in publish.output and "InFailedSqlTransaction" not in publish.output


@pytest.mark.parametrize("warehouse", ["postgresql"], indirect=True)
def test_set_up_waiting_for_one_analyst_lets_the_others_read(warehouse, analyst, monkeypatch):
    """A programme load recreates v_unit_quarter_indicators; one analyst's open transaction holds
    it. Set-up tries in short steps, so a second analyst's query of the view is answered while
    set-up still waits (one statement waiting the whole wait queued every reader behind it), and
    set-up finishes once the transaction ends."""
    import threading

    from tasks.prepare import bring_up_to_date
    from warehouse.locks import SETUP_LOCK_TRY_SECONDS
    from warehouse.reference import WIDE_VIEW

    programmes = warehouse.data_dir.parent / "programmes"
    programmes.mkdir(exist_ok=True)
    from reporting.programme import PROGRAMMES_DIR

    source = (PROGRAMMES_DIR / "ctr135-2023.toml").read_text(encoding="utf-8")
    (programmes / "ctr135-2023.toml").write_text(
        source.replace('label_vi = "Số buổi sinh hoạt chi bộ định kỳ"', 'label_vi = "Số buổi sinh hoạt chi bộ"', 1),
        encoding="utf-8")
    (programmes / "units.csv").write_text((PROGRAMMES_DIR / "units.csv").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("P135_PROGRAMMES_DIR", str(programmes))
    holder, reader = connect_as(warehouse, analyst), connect_as(warehouse, analyst)
    outcome: dict[str, object] = {}
    with holder.connect() as held:
        held.execute(text(f"SELECT count(*) FROM {WIDE_VIEW}"))
        setup = threading.Thread(target=lambda: outcome.update(changed=bring_up_to_date(warehouse.data_dir, wait_seconds=60)))
        setup.start()
        try:
            with reader.connect() as conn:
                for _ in range(3):
                    _wait_for_a_queued_lock(warehouse.engine, WIDE_VIEW)
                    # Longer than one try of set-up, far shorter than its whole wait.
                    conn.execute(text(f"SET statement_timeout = '{int(SETUP_LOCK_TRY_SECONDS * 4)}s'"))
                    assert conn.execute(text(f"SELECT count(*) FROM {WIDE_VIEW}")).scalar_one() >= 0
                    conn.rollback()
            assert setup.is_alive(), "set-up still waits for the first analyst"
        finally:
            held.rollback()
        setup.join(60)
    assert not setup.is_alive() and outcome.get("changed", 0) > 0, outcome


def _wait_for_a_queued_lock(engine: Engine, relation: str) -> None:
    """Until some session waits for a lock on `relation` (set-up's DROP VIEW, queued)."""
    import time

    deadline = time.monotonic() + 30
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            if conn.execute(text("SELECT 1 FROM pg_locks WHERE NOT granted AND relation = CAST(:r AS regclass)"),
                            {"r": relation}).first():
                return
            conn.rollback()
            time.sleep(0.05)
    raise AssertionError(f"no session queued for a lock on {relation}")


@pytest.mark.parametrize("warehouse", ["postgresql"], indirect=True)
def test_every_view_carries_its_description_for_the_analyst(warehouse, analyst):
    """psql's \\dv+ (or a client's object browser) shows each view's grain, as the data dictionary
    says it; the wide view, made again by a programme load, gets its comment back."""
    from warehouse.reference import WIDE_VIEW, _recreate_wide_view, load_reference
    from warehouse.view_docs import VIEWS

    def comments() -> dict[str, str | None]:
        with connect_as(warehouse, analyst).connect() as conn:
            return dict(conn.execute(text(
                "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'v'")).all())

    assert comments() == VIEWS
    with warehouse.engine.begin() as conn:
        _recreate_wide_view(conn)
    assert comments()[WIDE_VIEW] is None
    from reporting.programme import programme_for_year
    from reporting.units import load_registry

    load_reference(warehouse.engine, [programme_for_year(2023)], load_registry())
    assert comments() == VIEWS


@pytest.mark.parametrize("warehouse", ["postgresql"], indirect=True)
def test_granting_again_undoes_the_limits_an_analyst_lifted_in_this_database(warehouse, analyst):
    """Settings a role gives itself IN DATABASE outrank its role-wide ones: granting again rewrote
    only the latter, and the analyst kept read-write sessions without limits."""
    engine = connect_as(warehouse, analyst)
    database = make_url(warehouse.url).database
    with engine.connect() as conn:
        conn.exec_driver_sql("BEGIN READ WRITE")
        for setting, value in (("default_transaction_read_only", "off"), ("statement_timeout", "0")):
            conn.exec_driver_sql(f'ALTER ROLE "{analyst}" IN DATABASE "{database}" SET {setting} = {value}')
        conn.exec_driver_sql("COMMIT")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW default_transaction_read_only").scalar() == "off"
    result = grant(warehouse, analyst)
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW default_transaction_read_only").scalar() == "on"
        assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "15min"
    engine.dispose()


@pytest.mark.parametrize("warehouse", ["postgresql"], indirect=True)
@pytest.mark.parametrize("server_role", ["pg_write_server_files", "pg_execute_server_program"])
def test_a_role_that_reaches_the_servers_files_is_not_made_an_analyst(warehouse, server_role):
    """It could still COPY ... TO a file or PROGRAM as the server: no read-only grant takes that away."""
    role = f"p135_test_power_{uuid.uuid4().hex[:8]}"
    with warehouse.engine.begin() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        conn.execute(text(f'GRANT {server_role} TO "{role}"'))
    try:
        result = grant(warehouse, role)
        assert result.exit_code == 2, result.output
        said = " ".join(result.output.split())
        assert f"là thành viên của {server_role}" in said and f"REVOKE {server_role} FROM {role}" in said, said
        with warehouse.engine.connect() as conn:
            groups = conn.execute(text(
                "SELECT count(*) FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
                "WHERE m.member = CAST(:r AS regrole) AND g.rolname LIKE 'p135_analyst%'"), {"r": role}).scalar()
        assert groups == 0, "nothing of the grant is left"
    finally:
        drop_roles(warehouse.engine, role, group_for(make_url(warehouse.url).database))


@pytest.mark.parametrize("warehouse", ["postgresql"], indirect=True)
def test_status_with_the_analysts_login_reads_the_warehouse_as_it_is_after_the_programme_changed(
        warehouse, analyst, tmp_path):
    """Status loads the programme file when it changed, a write: with an analyst's login it failed
    ('Lệnh này cần quyền ghi'), though the README says status works with one."""
    import shutil
    from pathlib import Path

    programmes = tmp_path / "programmes"
    shutil.copytree(Path(__file__).resolve().parent.parent / "programmes", programmes)
    toml = programmes / "ctr135-2023.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'label_vi = "Do ngành dọc cấp trên giao"', 'label_vi = "Do cấp trên giao"'), encoding="utf-8")
    url = make_url(warehouse.url).set(username=analyst, password=None)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("P135_WAREHOUSE_URL", url.render_as_string(hide_password=False))
        patch.setenv("P135_PROGRAMMES_DIR", str(programmes))
        status = CliRunner().invoke(app, ["status", "--year", "2023", "--quarter", "1",
                                          "--data-dir", str(warehouse.data_dir)])
    assert status.exit_code == 0, status.output
    said = " ".join(status.output.split())
    assert "Quý I/2023: hạn nộp" in said and "mà tài khoản này chỉ được đọc kho: số liệu dưới đây theo kho" in said
    assert "Traceback" not in status.output
