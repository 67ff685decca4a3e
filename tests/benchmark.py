"""`make bench`: what reading, checking and loading a quarter's submissions costs.

Writes N filled workbooks for N synthetic units, then times each stage the collect flow runs
(archive, read, check, load) on SQLite and, when P135_TEST_POSTGRES_URL is set, PostgreSQL.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

# Imports live in the functions: reader processes re-import this module when they start.


def synthetic_bloc(n: int):
    """n units cloned from the demo bloc, each with its own code."""
    from reporting.programme import programme_for_year
    from reporting.units import Registry, UnitVersion, load_registry
    from tasks.demo_data import DEMO_SEED, plan_demo_year

    programme = programme_for_year(2023)
    demo = list(plan_demo_year(programme, load_registry(), DEMO_SEED).values())
    versions, plans = [], []
    for i in range(n):
        model = demo[i % len(demo)]
        unit = UnitVersion(f"BN{i:05d}", f"{model.unit.name_vi} ({i})", model.unit.unit_group,
                           model.unit.unit_type, dt.date(2020, 1, 1), None, None)
        versions.append(unit)
        plans.append((unit, model))
    return Registry(tuple(versions), "benchmark"), plans


def timed(label: str, fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    elapsed = time.perf_counter() - start
    print(f"  {label:<34} {elapsed:8.2f} s")
    return result, elapsed


def main() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    from expectations.gate import check_batch
    from reporting.periods import Period
    from reporting.programme import programme_for_year
    from tasks.demo_data import fill_template
    from tasks.intake import archive_originals, discover_workbooks
    from tasks.templates import build_template
    from tasks.workbook_reader import read_workbooks
    from warehouse.engine import make_engine
    from warehouse.load import load_batch, open_collect_run
    from warehouse.migrate import upgrade
    from warehouse.reference import load_reference

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rerun", type=int, metavar="N",
                        help="instead: time re-collecting an unchanged quarter of N submissions")
    args = parser.parse_args()
    if args.rerun:
        rerun_unchanged(args.rerun)
        return
    programme = programme_for_year(2023)
    period = Period(2023, 4)
    registry, units = synthetic_bloc(args.files)
    with tempfile.TemporaryDirectory(prefix="p135-bench-") as tmp:
        root = Path(tmp)
        inbox = root / "inbox"
        inbox.mkdir()
        print(f"{args.files} submissions of {period.key}, {args.workers} reader processes")
        start = time.perf_counter()
        for unit, model in units:
            wb = build_template(programme, unit, period)
            fill_template(wb, programme, model, period.quarter)
            wb.save(inbox / f"{unit.unit_code}.xlsx")
        print(f"  {'write workbooks (openpyxl, setup)':<34} {time.perf_counter() - start:8.2f} s")

        files, _ = discover_workbooks.fn(inbox)
        (arrivals, _), _ = timed("archive (sha256 + copy)", archive_originals.fn, inbox, files, root / "archive", root)
        items = [(a.sha256, root / a.archive_path) for a in arrivals]
        parsed, read_s = timed("read (python-calamine)", read_workbooks, items, workers=args.workers)
        checked, check_s = timed("check (GX, one run per suite)", check_batch, parsed, [a.sha256 for a in arrivals], programme, registry, period)
        rejected = sum(1 for s in checked.status.values() if s == "rejected")
        print(f"  {'':<34} {rejected} rejected, {len(checked.findings)} findings")

        urls = {"sqlite": f"sqlite:///{root / 'bench.db'}"}
        if os.environ.get("P135_TEST_POSTGRES_URL"):
            urls["postgresql"] = os.environ["P135_TEST_POSTGRES_URL"]
        for backend, url in urls.items():
            engine = make_engine(url)
            if backend == "postgresql":
                engine = _fresh_pg(url)
            upgrade(engine)
            load_reference(engine, [programme], registry)
            run_id = open_collect_run(engine, year=2023, quarter=4, inbox=str(inbox), flow_run_id=None)
            _, load_s = timed(f"load ({backend}, one transaction)", load_batch, engine,
                collect_run_id=run_id, year=2023, quarter=4, arrivals=arrivals, status=checked.status,
                unit_code=checked.unit_code, template_version=checked.template_version,
                findings=[f.as_row() for f in checked.findings],
                indicator_facts=checked.indicator_facts, task_facts=checked.task_facts)
            rows = len(checked.indicator_facts) + len(checked.task_facts)
            print(f"  {'':<34} {rows} fact rows, {rows / load_s:,.0f} rows/s")
            engine.dispose()
        print(f"  per submission: read {1000 * read_s / args.files:.1f} ms, check {1000 * check_s / args.files:.1f} ms")


def rerun_unchanged(n: int) -> None:
    """Time each stage of collecting again a quarter whose N files are all known and whose N
    feedback workbooks are all in place: nothing is parsed, checked, loaded or rewritten.

    The N files are one real workbook made distinct by a trailing byte string (only their hashes
    matter here); their submissions and feedback records are written straight into the warehouse.
    """
    import pandas as pd

    from reporting.periods import Period
    from reporting.programme import programme_for_year
    from tasks.feedback import rewrite_missing_feedback
    from tasks.intake import archive_originals, discover_workbooks, split_known
    from tasks.templates import build_template
    from warehouse.engine import make_engine
    from warehouse.feedback_log import Placed, record_feedback
    from warehouse.load import load_batch, open_collect_run
    from warehouse.migrate import upgrade
    from warehouse.reference import load_reference

    programme = programme_for_year(2023)
    period = Period(2023, 4)
    registry, units = synthetic_bloc(1)
    with tempfile.TemporaryDirectory(prefix="p135-bench-rerun-") as tmp:
        root = Path(tmp)
        inbox, feedback = root / "inbox", root / "feedback" / period.key
        inbox.mkdir()
        feedback.mkdir(parents=True)
        print(f"re-collect an unchanged {period.key} of {n} submissions")
        base = root / "base.xlsx"
        build_template(programme, units[0][0], period).save(base)
        content = base.read_bytes()
        start = time.perf_counter()
        for i in range(n):
            (inbox / f"BN{i:05d}.xlsx").write_bytes(content + f"{i:08d}".encode())
            (feedback / f"BN{i:05d}.xlsx").write_bytes(content[: 5000 + i % 97])
        files, _ = discover_workbooks.fn(inbox)
        arrivals, _ = archive_originals.fn(inbox, files, root / "archive", root)
        engine = make_engine(f"sqlite:///{root / 'warehouse.db'}")
        upgrade(engine)
        load_reference(engine, [programme], registry)
        run_id = open_collect_run(engine, year=2023, quarter=4, inbox=str(inbox), flow_run_id=None)
        none = pd.DataFrame(columns=["submission_id"])
        codes = {a.sha256: a.original_name[:-5] for a in arrivals}
        load_batch(engine, collect_run_id=run_id, year=2023, quarter=4, arrivals=arrivals,
                   status=dict.fromkeys(codes, "rejected"), unit_code=codes, template_version={},
                   findings=[], indicator_facts=none, task_facts=none)
        record_feedback(engine, 2023, 4, [Placed(f"{code}.xlsx", code, sha, 5000 + int(code[2:]) % 97)
                                           for sha, code in codes.items()])
        print(f"  {'set-up (files, warehouse)':<34} {time.perf_counter() - start:8.2f} s")

        os.environ["P135_WAREHOUSE_URL"] = str(engine.url)
        total = time.perf_counter()
        (files, _), _ = timed("discover (lstat)", discover_workbooks.fn, inbox)
        (arrivals, _), _ = timed("archive (sha256, all known)", archive_originals.fn, inbox, files, root / "archive", root)
        (new, known), _ = timed("split known", split_known.fn, arrivals, root)
        written, _ = timed("feedback in place? (sizes)", rewrite_missing_feedback.fn, root, programme, registry, period)
        print(f"  {'total':<34} {time.perf_counter() - total:8.2f} s  ({len(new)} new, {len(known)} known, "
              f"{len(written)} feedback rewritten)")
        engine.dispose()


def _fresh_pg(server_url: str):
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"p135_bench_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    from warehouse.engine import make_engine

    return make_engine(make_url(server_url).set(database=name).render_as_string(hide_password=False))


if __name__ == "__main__":
    main()
