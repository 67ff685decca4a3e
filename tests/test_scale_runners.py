"""Collecting in batches on task runners gives the same result as collecting file by file.

A few hundred workbooks of units of a generated registry: a few filled templates are built with
openpyxl, and each other unit's file is one of them with the unit's code, name and identity digest
written in (the identity stays valid for that unit, as a handed-out template's is). Some files are
rejected, some units send two versions, two files are not workbooks.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import os
import shutil
import zipfile
from dataclasses import replace
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import MetaData, Table, inspect, select

from flows.collect import collect_quarter
from reporting.identity import SHEET_IDENTITY, read_identity
from reporting.periods import LOCAL_TZ, Period
from reporting.programme import PROGRAMMES_DIR, PROGRAMMES_ENV
from reporting.units import Registry, UnitVersion, load_registry
from tasks.feedback import SHEET
from tests.workbooks import default_values, submission

Q1 = Period(2023, 1)
TASK = ("NV01", "Học tập nghị quyết", "unit", "completed", dt.date(2023, 2, 1))
GROUPS = ("agencies", "enterprises", "schools")
# Columns that say when or in which run something happened, not what was decided (a feedback
# workbook's size varies with the time written into it; its cells are compared instead).
RUN_COLUMNS = {"checked_at", "loaded_at", "written_at", "collect_run_id", "validation_finding_id"}
RUN_COLUMNS_OF = {"feedback_file": {"size_bytes"}}
SKIP_TABLES = {"collect_run", "collect_lock", "alembic_version"}


def _models() -> dict[str, UnitVersion]:
    """One unit of the demo registry per group: the model of the generated units of that group."""
    models = {}
    for unit in load_registry().versions:
        models.setdefault(unit.unit_group, unit)
    return {g: models[g] for g in GROUPS if g in models}


def _registry(n: int) -> Registry:
    models = _models()
    groups = list(models)
    units = []
    for i in range(n):
        model = models[groups[i % len(groups)]]
        units.append(UnitVersion(f"SC{i:04d}", f"{model.name_vi} (số {i})", model.unit_group, model.unit_type,
                                 dt.date(2020, 1, 1), None, None))
    return Registry(tuple(units), "scale-test")


def _write_registry(registry: Registry, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for toml in PROGRAMMES_DIR.glob("*.toml"):
        shutil.copy(toml, folder)
    with open(folder / "units.csv", "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["unit_code", "name_vi", "unit_group", "unit_type", "valid_from", "valid_to", "successor_code"])
        for u in registry.versions:
            out.writerow([u.unit_code, u.name_vi, u.unit_group, u.unit_type, u.valid_from.isoformat(), "", ""])


def _base(unit: UnitVersion, registry: Registry, rejected: bool) -> tuple[bytes, object]:
    """A filled template of `unit` as bytes, and the identity it carries."""
    values = default_values(unit.unit_group)
    if rejected:
        values[next(iter(values))] = "hai"
    wb = submission(unit.unit_code, Q1, values=values, tasks=[TASK], registry=registry)
    rows = [[c.value for c in row] for row in wb[SHEET_IDENTITY].iter_rows()]
    state, identity = read_identity(rows)
    assert state == "valid"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), identity


def _as_unit(base: bytes, identity, old: UnitVersion, new: UnitVersion, comment: bytes = b"") -> bytes:
    """The base workbook as handed out to `new`: its code, name and identity digest written in
    (`comment` makes another version of the same content)."""
    def swap(text: str) -> str:
        return text.replace(old.unit_code, new.unit_code).replace(old.name_vi, new.name_vi)

    moved = replace(identity, unit_code=new.unit_code, unit_name=new.name_vi,
                    locked=tuple(c._replace(value=swap(c.value)) for c in identity.locked))
    pairs = [(old.unit_code, new.unit_code), (_xml(old.name_vi), _xml(new.name_vi)), (identity.digest, moved.digest)]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        target.comment = comment
        for info in source.infolist():
            data = source.read(info)
            if info.filename.startswith("xl/worksheets/"):
                text = data.decode("utf-8")
                for before, after in pairs:
                    text = text.replace(before, after)
                data = text.encode("utf-8")
            target.writestr(info, data)
    return out.getvalue()


def _xml(text: str) -> str:
    """Text as openpyxl writes it into a cell: escaped, other than ASCII as character references."""
    return escape(text).encode("ascii", "xmlcharrefreplace").decode("ascii")


def _quarter(root: Path, n: int) -> tuple[Path, Registry]:
    """n units' files in an inbox (with second versions and non-workbooks) and their registry."""
    registry = _registry(n)
    _write_registry(registry, root / "programmes")
    inbox = root / "inbox"
    inbox.mkdir(parents=True)
    by_group = {u.unit_group: u for u in registry.versions[:len(GROUPS)]}
    bases = {(g, bad): (_base(u, registry, bad), u) for g, u in by_group.items() for bad in (False, True)}
    arrived = dt.datetime(2023, 4, 5, 9, 0, tzinfo=LOCAL_TZ)
    for i, unit in enumerate(registry.versions):
        versions = [(i % 7 == 3, b"")] + ([(False, b"v2")] if i % 20 == 5 else [])
        for v, (bad, comment) in enumerate(versions):
            (base, identity), model = bases[(unit.unit_group, bad)]
            path = inbox / (f"{unit.unit_code}.xlsx" if v == 0 else f"{unit.unit_code}-sua.xlsx")
            path.write_bytes(_as_unit(base, identity, model, unit, comment))
            stamp = (arrived + dt.timedelta(minutes=i, days=v)).timestamp()
            os.utime(path, (stamp, stamp))
    (inbox / "ghi-chu.txt").write_text("Kính gửi Đảng ủy Khối", encoding="utf-8")
    (inbox / "SC0001-hong.xlsx").write_bytes((inbox / "SC0001.xlsx").read_bytes()[:3000])
    return inbox, registry


def _rows(engine) -> dict[str, list]:
    """Every table's rows by content: submissions named by file hash, run ids and times left out."""
    out = {}
    with engine.connect() as conn:
        sha = dict(conn.execute(select(Table("submission", MetaData(), autoload_with=conn).c["submission_id", "file_sha256"])).all())
        for name in sorted(inspect(conn).get_table_names()):
            if name in SKIP_TABLES:
                continue
            table = Table(name, MetaData(), autoload_with=conn)
            columns = [c for c in table.columns if c.name not in RUN_COLUMNS | RUN_COLUMNS_OF.get(name, set())]
            rows = []
            for row in conn.execute(select(*columns)).all():
                rows.append(tuple(sha.get(v) if c.name.endswith("submission_id") else v for c, v in zip(columns, row)))
            out[name] = sorted(rows, key=repr)
    return out


def _feedback(folder: Path) -> dict[str, list]:
    """Each feedback workbook's cells, by file name."""
    return {p.name: CalamineWorkbook.from_path(str(p)).get_sheet_by_name(SHEET).to_python() for p in sorted(folder.iterdir())}


def _collect(root: Path, name: str, inbox: Path, **options) -> tuple[dict, Path]:
    from warehouse.engine import engine_for

    data = root / name
    summary = collect_quarter(year=2023, quarter=1, inbox=str(inbox), data_dir=str(data), **options)
    rows = _rows(engine_for(data))
    engine_for(data).dispose()
    return {"summary": summary, "rows": rows, "feedback": _feedback(data / "feedback" / Q1.key)}, data


@pytest.fixture(scope="module")
def quarter(tmp_path_factory):
    """210 units: 223 files (11 second versions, 30 rejected, a text file and a truncated one)."""
    root = tmp_path_factory.mktemp("scale")
    inbox, registry = _quarter(root, 210)
    return root, inbox, registry


@pytest.fixture(scope="module")
def small_quarter(tmp_path_factory):
    """20 units: 23 files (a second version, 3 rejected, a text file and a truncated one)."""
    root = tmp_path_factory.mktemp("scale-small")
    inbox, registry = _quarter(root, 20)
    return root, inbox, registry


def _programmes(monkeypatch, root: Path) -> None:
    monkeypatch.setenv(PROGRAMMES_ENV, str(root / "programmes"))
    _clear(monkeypatch)


def _clear(monkeypatch) -> None:
    for name in ("P135_WAREHOUSE_URL", "P135_TASK_RUNNER", "P135_DASK_ADDRESS", "P135_BATCH_SIZE",
                 "P135_READ_WORKERS", "P135_PARALLEL_BATCHES"):
        monkeypatch.delenv(name, raising=False)


def _decided(result: dict) -> list:
    return sorted((f["file"], f["unit_code"], f["status"], f["errors"]) for f in result["summary"]["files"])


def _same(result: dict, reference: dict, files: int, feedback: int) -> None:
    decided = _decided(result)
    assert len(decided) == files
    assert {"accepted", "rejected", "superseded"} <= {status for _, _, status, _ in decided}
    assert decided == _decided(reference)
    assert result["rows"] == reference["rows"]
    assert result["feedback"] == reference["feedback"]
    assert len(result["feedback"]) == feedback


def test_a_few_hundred_files_in_parallel_batches_decide_as_in_one_batch(quarter, monkeypatch):
    root, inbox, _ = quarter
    _programmes(monkeypatch, root)

    sequential, _ = _collect(root, "sequential", inbox, batch_size=1000, read_workers=1, parallel_batches=1)
    batched, _ = _collect(root, "batched", inbox, batch_size=40, read_workers=2, parallel_batches=2)

    _same(batched, sequential, files=223, feedback=212)
    stages = batched["summary"]["stage_seconds"]
    assert set(stages) == {"archive", "guard", "read", "check", "load", "feedback"}
    assert all(seconds > 0 for seconds in stages.values())


def test_batches_in_parallel_decide_as_batches_of_one(small_quarter, monkeypatch):
    root, inbox, _ = small_quarter
    _programmes(monkeypatch, root)

    one_by_one, _ = _collect(root, "one-by-one", inbox, batch_size=1, read_workers=1, parallel_batches=1)
    batched, _ = _collect(root, "batched", inbox, batch_size=6, read_workers=2, parallel_batches=3)

    _same(batched, one_by_one, files=23, feedback=22)


def test_a_local_dask_cluster_loads_the_same_rows(small_quarter, monkeypatch):
    root, inbox, _ = small_quarter
    _programmes(monkeypatch, root)
    local, _ = _collect(root, "local", inbox, batch_size=8)
    monkeypatch.setenv("P135_TASK_RUNNER", "dask")

    on_dask, _ = _collect(root, "dask", inbox, batch_size=8, parallel_batches=2)

    _same(on_dask, local, files=23, feedback=22)
    assert on_dask["summary"]["stage_seconds"]["guard"] > 0


@pytest.mark.parametrize(("env", "named"), [
    ({"P135_TASK_RUNNER": "ray"}, "P135_TASK_RUNNER='ray'"),
    ({"P135_TASK_RUNNER": "dask", "P135_DASK_ADDRESS": "http://may chu"}, "P135_DASK_ADDRESS"),
    ({"P135_DASK_ADDRESS": "tcp://10.0.0.5:8786"}, "P135_DASK_ADDRESS"),
    ({"P135_BATCH_SIZE": "0"}, "P135_BATCH_SIZE"),
], ids=["unknown-runner", "bad-address", "address-without-dask", "batch-size-zero"])
def test_preflight_refuses_run_settings_it_cannot_use(monkeypatch, env, named):
    from tasks.preflight import SettingError, check_run_settings

    _clear(monkeypatch)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingError) as refused:
        check_run_settings()
    assert named in str(refused.value) and "hãy" in str(refused.value).lower()


def test_preflight_takes_the_runners_it_has(monkeypatch):
    from tasks.preflight import check_run_settings

    _clear(monkeypatch)
    assert check_run_settings() == "local"
    monkeypatch.setenv("P135_TASK_RUNNER", "Dask")
    monkeypatch.setenv("P135_DASK_ADDRESS", "tcp://10.0.0.5:8786")
    assert check_run_settings() == "dask"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("case", ["unreachable", "no-workers", "daemonic-worker"])
def test_a_cluster_that_cannot_read_is_refused_before_the_run(monkeypatch, case):
    """Each of these hung the run for ever, or failed it with a traceback in English, after Prefect started."""
    from distributed import LocalCluster

    from tasks import runners

    monkeypatch.setattr(runners, "DASK_CONNECT_SECONDS", 2)
    if case == "unreachable":
        problem = runners.dask_cluster_problem(f"tcp://127.0.0.1:{_free_port()}", worker_wait=1)
        assert "không kết nối được tới bộ lập lịch Dask sau 2 giây" in problem, problem
        return
    workers = 0 if case == "no-workers" else 1
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=bool(workers), dashboard_address=None) as cluster:
        problem = runners.dask_cluster_problem(cluster.scheduler_address, worker_wait=1)
    expected = "chưa có worker nào (đã chờ 1 giây)" if case == "no-workers" else "chạy ở chế độ daemon"
    assert expected in problem and "DASK_DISTRIBUTED__WORKER__DAEMON=False" in problem, problem


def test_the_command_refuses_a_cluster_it_cannot_reach_as_a_setting(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app
    from tasks import runners

    _clear(monkeypatch)
    monkeypatch.setattr(runners, "DASK_CONNECT_SECONDS", 2)
    monkeypatch.setenv("P135_TASK_RUNNER", "dask")
    monkeypatch.setenv("P135_DASK_ADDRESS", f"tcp://127.0.0.1:{_free_port()}")
    result = CliRunner().invoke(app, ["collect", "--year", "2023", "--quarter", "1", "--data-dir", str(tmp_path / "d")])
    assert result.exit_code == 2, result.output
    assert "Lỗi cấu hình: P135_DASK_ADDRESS=tcp://127.0.0.1:" in result.output and "Traceback" not in result.output


class _Inner:
    def __init__(self, info):
        self.client = self
        self._info = info

    def add_done_callback(self, _):
        pass  # never done

    def scheduler_info(self):
        if isinstance(self._info, Exception):
            raise self._info
        return self._info


class _Future:
    def __init__(self, info):
        self.wrapped_future = _Inner(info)


@pytest.mark.parametrize(("info", "said"), [
    ({"workers": {}}, "cụm không còn worker nào trong 1 giây"),
    (OSError("Connection refused"), "mất kết nối tới bộ lập lịch (OSError)"),
], ids=["workers-gone", "scheduler-gone"])
def test_a_cluster_lost_while_reading_stops_the_wait_with_one_vietnamese_line(monkeypatch, info, said):
    from tasks import runners

    monkeypatch.setattr(runners, "DASK_POLL_SECONDS", 0.05)
    with pytest.raises(runners.ClusterLost) as lost:
        runners.result_on_cluster(_Future(info), "tcp://10.0.0.5:8786", worker_wait=1)
    assert said in str(lost.value) and "Không mất tệp nào" in str(lost.value)


def test_a_run_whose_cluster_is_lost_fails_in_one_line_and_the_rerun_loads_the_same_rows(small_quarter, monkeypatch):
    import flows.collect
    from tasks.runners import ClusterLost

    root, inbox, _ = small_quarter
    _programmes(monkeypatch, root)
    reference, _ = _collect(root, "reference", inbox, batch_size=8)

    def lost(future, address):
        raise ClusterLost(f"Thu nhận dừng giữa chừng: cụm Dask ở {address} mất kết nối tới bộ lập lịch.")

    monkeypatch.setattr(flows.collect, "result_on_cluster", lost)
    data = root / "lost"
    state = collect_quarter(year=2023, quarter=1, inbox=str(inbox), data_dir=str(data), batch_size=8,
                            task_runner="dask", return_state=True)
    assert state.is_failed() and state.message.startswith("Thu nhận dừng giữa chừng: cụm Dask ở máy này"), state.message
    monkeypatch.undo()
    _programmes(monkeypatch, root)
    again, _ = _collect(root, "lost", inbox, batch_size=8)
    _same(again, reference, files=23, feedback=22)


def test_the_command_on_a_cluster_of_this_machine_records_its_reads_on_its_own_server(small_quarter, tmp_path):
    """Each Dask worker started a temporary Prefect server of its own (15 s, left running beside the
    worker) and recorded the read tasks there, not on the run's."""
    import signal
    import sqlite3
    import subprocess
    import sys
    import time

    root, inbox, _ = small_quarter
    bin_dir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "P135_", "DASK_"))}
    address = f"tcp://127.0.0.1:{_free_port()}"
    worker_home = tmp_path / "worker-prefect"
    started = [
        subprocess.Popen([str(bin_dir / "dask"), "scheduler", "--port", address.rsplit(":", 1)[1], "--no-dashboard"],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True),
    ]
    try:
        time.sleep(2)
        started.append(subprocess.Popen(
            [str(bin_dir / "dask"), "worker", address, "--nthreads", "1", "--no-dashboard"],
            env={**env, "DASK_DISTRIBUTED__WORKER__DAEMON": "False", "PREFECT_HOME": str(worker_home)},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        runs = []
        for name in ("first", "second"):
            runs.append((tmp_path / name, subprocess.run(
                [str(bin_dir / "p135"), "collect", "--year", "2023", "--quarter", "1", "--inbox", str(inbox),
                 "--data-dir", str(tmp_path / name)],
                env={**env, "P135_PROGRAMMES_DIR": str(root / "programmes"), "P135_TASK_RUNNER": "dask",
                     "P135_DASK_ADDRESS": address, "P135_BATCH_SIZE": "8"},
                capture_output=True, text=True, timeout=600)))
        servers = subprocess.run(["pgrep", "-f", "-P", str(started[1].pid), "uvicorn"], capture_output=True, text=True)
    finally:
        for process in started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    for data, run in runs:
        output = run.stdout + run.stderr
        assert run.returncode == 0, output
        assert "Traceback" not in output and "distributed." not in output, output
        with sqlite3.connect(data / "prefect" / "prefect.db") as db:
            reads = db.execute("SELECT COUNT(*) FROM task_run WHERE name LIKE 'read-batch-%'").fetchone()[0]
        assert reads == 3, f"{data.name}: the read tasks were recorded elsewhere"
    assert not servers.stdout.strip(), "the worker started a Prefect server of its own"


def test_no_more_parsing_processes_than_cores(small_quarter, monkeypatch):
    """P135_READ_WORKERS=100 started a hundred parsing processes on 2 cores (9 GB, and slower)."""
    from tasks import workbook_reader

    root, inbox, _ = small_quarter
    started = []
    real_pool = workbook_reader._pool
    monkeypatch.setattr(workbook_reader, "_pool", lambda workers: started.append(workers) or real_pool(workers))
    items = [(path.name, path) for path in sorted(inbox.glob("*.xlsx"))]
    workbook_reader.read_workbooks_measured(items, workers=100)
    assert started and max(started) <= (os.cpu_count() or 1)
