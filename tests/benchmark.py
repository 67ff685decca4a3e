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
    from tasks.intake import archive_file
    from tasks.templates import build_template
    from tasks.workbook_reader import read_workbooks
    from warehouse.engine import make_engine
    from warehouse.load import load_batch, open_collect_run
    from warehouse.migrate import upgrade
    from warehouse.reference import load_reference

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
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

        files = sorted(inbox.iterdir())
        arrivals, _ = timed("archive (sha256 + copy)", lambda: [archive_file(p, root / "archive", root) for p in files])
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
