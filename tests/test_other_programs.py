"""A submission saved again by LibreOffice (xlsx, xls, ods) loads to the same warehouse rows."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text

from flows.collect import collect_quarter
from reporting.periods import LOCAL_TZ, Period
from tasks.demo_data import fill_template, plan_demo_year
from tasks.templates import build_template
from tests.workbooks import PROGRAMME, REGISTRY, save
from warehouse.engine import engine_for

SOFFICE_ENV = "P135_TEST_SOFFICE"
Q1 = Period(2023, 1)


@pytest.fixture(scope="module")
def soffice() -> str:
    path = os.environ.get(SOFFICE_ENV)
    if not path:
        pytest.skip(f"{SOFFICE_ENV} is not set: LibreOffice round trips skipped")
    return path


def _convert(soffice: str, source: Path, fmt: str, out: Path, profile: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    # `timeout -k`: LibreOffice's oosplash wrapper can outlive a plain timeout.
    subprocess.run(
        ["timeout", "-k", "10", "180", soffice, "--headless", "--norestore",
         f"-env:UserInstallation=file://{profile}", "--convert-to", fmt, "--outdir", str(out), str(source)],
        check=True, capture_output=True,
    )
    return out / f"{source.stem}.{fmt}"


def _rows(data_dir: Path) -> tuple[list, list, list]:
    with engine_for(data_dir).connect() as conn:
        indicators = conn.execute(text(
            "SELECT s.unit_code, i.indicator_code, i.value, i.ytd_value, i.plan_value FROM submission_indicator i "
            "JOIN submission s USING (submission_id) ORDER BY 1, 2")).all()
        tasks = conn.execute(text(
            "SELECT s.unit_code, k.task_code, k.content_vi, k.source_code, k.status_code, k.completed_on "
            "FROM submission_key_task k JOIN submission s USING (submission_id) ORDER BY 1, 2")).all()
        statuses = conn.execute(text("SELECT unit_code, status FROM submission")).all()
    return [tuple(r) for r in indicators], [tuple(r) for r in tasks], [tuple(r) for r in statuses]


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "ods"], ids=["xlsx", "xls", "ods"])
def test_resaved_by_libreoffice_loads_the_same_rows(soffice, fmt, tmp_path, monkeypatch):
    monkeypatch.delenv("P135_WAREHOUSE_URL", raising=False)
    demo = plan_demo_year(PROGRAMME, REGISTRY)["DN005"]
    wb = build_template(PROGRAMME, REGISTRY.version_on("DN005", Q1.ends_on), Q1)
    fill_template(wb, PROGRAMME, demo, 1)
    original = save(wb, tmp_path / "source" / "BaoCao_DN005.xlsx")
    resaved = _convert(soffice, original, fmt, tmp_path / "converted", tmp_path / "lo-profile")
    arrived = dt.datetime(2023, 4, 6, 9, tzinfo=LOCAL_TZ).timestamp()

    results = {}
    for name, path in (("original", original), (fmt, resaved)):
        data = tmp_path / name / "data"
        inbox = data / "inbox" / Q1.key
        inbox.mkdir(parents=True)
        # The wrong extension on purpose: the format comes from the content.
        target = inbox / "BaoCao_DN005.xlsx"
        shutil.copy(path, target)
        os.utime(target, (arrived, arrived))
        collect_quarter(year=2023, quarter=1, data_dir=str(data))
        results[name] = _rows(data)

    indicators, tasks, statuses = results[fmt]
    assert (indicators, tasks) == results["original"][:2]
    assert len(tasks) == sum(1 for t in demo.tasks if t.opened_in == 1)
    expected = "accepted_with_warnings" if fmt == "xls" else "accepted"
    assert statuses == [("DN005", expected)]
