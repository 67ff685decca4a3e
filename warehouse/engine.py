"""Where the warehouse is and how to connect to it."""

from __future__ import annotations

import atexit
import os
import sqlite3
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

URL_ENV = "P135_WAREHOUSE_URL"
DATA_DIR_ENV = "P135_DATA_DIR"


def data_dir(explicit: str | Path | None = None) -> Path:
    """The data directory: explicit, else $P135_DATA_DIR, else ./data."""
    return Path(explicit or os.environ.get(DATA_DIR_ENV) or "data")


def warehouse_url(data: Path) -> str:
    """$P135_WAREHOUSE_URL, else a SQLite file in the data directory."""
    url = os.environ.get(URL_ENV)
    if url is not None:
        if not url.strip():
            raise RuntimeError(f"{URL_ENV} is set but empty")
        return url
    return f"sqlite:///{(data / 'warehouse.db').as_posix()}"


def sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite warehouse URL, also when given as a URI (`sqlite:///file:PATH?mode=ro&uri=true`);
    None for another backend or an in-memory database."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database.removeprefix("file:").split("?")[0])


def make_engine(url: str) -> Engine:
    """An engine with the settings each backend needs (SQLite: foreign keys, waiting on locks)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if (path := sqlite_file(parsed)) is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            try:
                cursor.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError:
                pass  # opened read-only (mode=ro): the file keeps the journal it has
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


_ENGINES: dict[str, Engine] = {}


def engine_for(data: Path) -> Engine:
    """One engine per warehouse URL for the life of the process; its connections are closed when
    the process exits, so that SQLite moves what its write-ahead log holds into the warehouse
    file (a copy of `warehouse.db` alone is then the whole warehouse)."""
    url = warehouse_url(Path(data))
    if url not in _ENGINES:
        if not _ENGINES:
            atexit.register(dispose_engines)
        _ENGINES[url] = make_engine(url)
    return _ENGINES[url]


def dispose_engines() -> None:
    """Close every pooled connection (tests drop databases; a process may switch warehouses)."""
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()
