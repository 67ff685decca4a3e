"""Test harness: Prefect against a temporary server, a real SQLite file and a real PostgreSQL."""

from __future__ import annotations

import fcntl
import os
import pickle
import tempfile
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

POSTGRES_ENV = "P135_TEST_POSTGRES_URL"
# Names what one `pytest` run shares between its xdist worker processes (they inherit it).
RUN_ENV = "P135_TEST_RUN"


def pytest_configure(config: pytest.Config) -> None:
    # Before anything imports Prefect or Great Expectations: their settings are read at import.
    home = tempfile.mkdtemp(prefix="p135-prefect-home-")
    os.environ["PREFECT_HOME"] = home
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ["PREFECT_SERVER_LOGGING_LEVEL"] = "CRITICAL"
    os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    # Publishing makes its PDF with the LibreOffice the tests are given, and none without it.
    os.environ["P135_SOFFICE"] = os.environ.get("P135_TEST_SOFFICE", "")
    os.environ.pop("P135_WAREHOUSE_URL", None)
    os.environ.pop("P135_DATA_DIR", None)
    if not hasattr(config, "workerinput"):
        os.environ[RUN_ENV] = uuid.uuid4().hex[:8]


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The run's shared databases go when the whole run ends: in the process that started the
    workers (or the only one), after every worker is done with them."""
    url = os.environ.get(POSTGRES_ENV)
    if hasattr(session.config, "workerinput") or not url:
        return
    from sqlalchemy import create_engine, text

    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            names = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :prefix"),
                                 {"prefix": f"{_shared_prefix()}%"}).scalars().all()
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _shared_prefix() -> str:
    return f"p135_test_{os.environ[RUN_ENV]}_shared_"


@pytest.fixture(scope="session", autouse=True)
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@dataclass
class Warehouse:
    """A warehouse for one test: where its data lives and its URL."""

    backend: str
    data_dir: Path
    url: str

    @property
    def engine(self):
        from warehouse.engine import engine_for

        return engine_for(self.data_dir)


def _postgres_server_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL cases skipped")
    return url


class PostgresDatabases:
    """Creates one fresh database per warehouse fixture on the test server, drops it after."""

    def __init__(self, server_url: str):
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self.server_url = make_url(server_url)
        self.admin = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        self.prefix = f"p135_test_{uuid.uuid4().hex[:8]}"
        self.count = 0

    def create(self, template: str | None = None, name: str | None = None) -> str:
        from sqlalchemy import text

        self.count += 1
        name = name or f"{self.prefix}_{self.count}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
        return self.server_url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        from warehouse.engine import dispose_engines

        dispose_engines()
        self.drop_named(make_url(url).database)

    def drop_named(self, name: str) -> None:
        from sqlalchemy import text

        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_databases():
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        yield None
        return
    databases = PostgresDatabases(url)
    yield databases
    databases.admin.dispose()


def make_warehouse(backend: str, data_dir: Path, databases: PostgresDatabases | None, mp: pytest.MonkeyPatch) -> Warehouse:
    data_dir.mkdir(parents=True, exist_ok=True)
    if backend == "postgresql":
        _postgres_server_url()
        url = databases.create()
        mp.setenv("P135_WAREHOUSE_URL", url)
    else:
        mp.delenv("P135_WAREHOUSE_URL", raising=False)
        url = f"sqlite:///{(data_dir / 'warehouse.db').as_posix()}"
    return Warehouse(backend, data_dir, url)


@pytest.fixture(params=["sqlite", "postgresql"])
def warehouse(request, tmp_path, postgres_databases, monkeypatch) -> Warehouse:
    """An empty warehouse on each backend (PostgreSQL only when its URL is given)."""
    found = make_warehouse(request.param, tmp_path / "data", postgres_databases, monkeypatch)
    yield found
    if found.backend == "postgresql":
        postgres_databases.drop(found.url)
    else:
        from warehouse.engine import dispose_engines

        dispose_engines()


@dataclass
class DemoYear:
    warehouse: Warehouse
    result: dict
    # On PostgreSQL, a copy of the warehouse nobody connects to, that private copies are made from.
    template_url: str | None = None


@contextmanager
def _only_one_process(lock_file: Path):
    with lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def demo_session(request, tmp_path_factory, postgres_databases, worker_id):
    """The demo year run once per backend through the real flows, shared by read-only tests and
    by every xdist worker of the run: the first to need it builds it, the others wait and read it."""
    from flows.demo import demo_year
    from warehouse.engine import dispose_engines

    backend = request.param
    if backend == "postgresql":
        _postgres_server_url()
    base = tmp_path_factory.getbasetemp()
    root = base if worker_id == "master" else base.parent
    place = root / f"demo-{backend}"
    with _only_one_process(root / f"demo-{backend}.lock"):
        built = place / "demo.pickle"
        if not built.exists():
            data_dir = place / "data"
            data_dir.mkdir(parents=True)
            url, template_url = f"sqlite:///{(data_dir / 'warehouse.db').as_posix()}", None
            if backend == "postgresql":
                # A worker that failed half-way may have left them.
                for name in ("demo", "demo_template"):
                    postgres_databases.drop_named(f"{_shared_prefix()}{name}")
                url = postgres_databases.create(name=f"{_shared_prefix()}demo")
            with pytest.MonkeyPatch.context() as mp:
                if backend == "postgresql":
                    mp.setenv("P135_WAREHOUSE_URL", url)
                else:
                    mp.delenv("P135_WAREHOUSE_URL", raising=False)
                result = demo_year(year=2023, data_dir=str(data_dir))
            dispose_engines()
            if backend == "postgresql":
                from sqlalchemy.engine import make_url

                template_url = postgres_databases.create(
                    template=make_url(url).database, name=f"{_shared_prefix()}demo_template")
            found = DemoYear(Warehouse(backend, data_dir, url), result, template_url)
            built.write_bytes(pickle.dumps(found))
        found = pickle.loads(built.read_bytes())
    yield found
    dispose_engines()


@pytest.fixture
def demo(demo_session, monkeypatch) -> DemoYear:
    """The shared demo year, with the environment pointing at its warehouse. Do not change it:
    take `demo_copy` to change anything."""
    _point_at(demo_session.warehouse, monkeypatch)
    return demo_session


@pytest.fixture
def demo_copy(demo_session, tmp_path, postgres_databases, monkeypatch) -> DemoYear:
    """A private copy of the demo year (files and warehouse) that a test may change."""
    import shutil

    from warehouse.engine import dispose_engines

    source = demo_session.warehouse
    data_dir = tmp_path / "data"
    shutil.copytree(source.data_dir, data_dir, ignore=shutil.ignore_patterns("prefect"))
    if source.backend == "postgresql":
        from sqlalchemy.engine import make_url

        dispose_engines()
        url = postgres_databases.create(template=make_url(demo_session.template_url).database)
    else:
        url = f"sqlite:///{(data_dir / 'warehouse.db').as_posix()}"
    copy = Warehouse(source.backend, data_dir, url)
    _point_at(copy, monkeypatch)
    yield DemoYear(copy, demo_session.result)
    if copy.backend == "postgresql":
        postgres_databases.drop(copy.url)
    dispose_engines()


def _point_at(found: Warehouse, monkeypatch) -> None:
    if found.backend == "postgresql":
        monkeypatch.setenv("P135_WAREHOUSE_URL", found.url)
    else:
        monkeypatch.delenv("P135_WAREHOUSE_URL", raising=False)
    monkeypatch.setenv("P135_DATA_DIR", str(found.data_dir))
