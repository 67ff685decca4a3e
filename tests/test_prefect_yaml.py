"""Every deployment's entrypoint imports and names a real flow; schedules run in local time."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml
from prefect import Flow

ROOT = Path(__file__).resolve().parent.parent
DEPLOYMENTS = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=[d["name"] for d in DEPLOYMENTS])
def test_entrypoint_names_a_flow(deployment):
    path, name = deployment["entrypoint"].split(":")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    assert isinstance(getattr(module, name), Flow)
    assert (ROOT / path).is_file()


@pytest.mark.parametrize("deployment", [d for d in DEPLOYMENTS if d.get("schedules")], ids=lambda d: d["name"])
def test_schedules_are_in_the_province_time_zone(deployment):
    for schedule in deployment["schedules"]:
        assert schedule["timezone"] == "Asia/Ho_Chi_Minh"
        assert "year" not in deployment.get("parameters", {}), "the period defaults at run time"


def test_deployments_are_named_as_the_ops_team_knows_them():
    assert [d["name"] for d in DEPLOYMENTS] == [
        "collect-quarterly", "remind-missing", "publish-yearly", "hand-out-templates", "demo-year",
    ]


def test_shared_settings_are_anchors_and_every_deployment_uses_the_process_pool():
    raw = (ROOT / "prefect.yaml").read_text(encoding="utf-8")
    assert "&process_pool" in raw and "&local_time" in raw and raw.count("<<: *") >= len(DEPLOYMENTS)
    for deployment in DEPLOYMENTS:
        assert deployment["work_pool"]["name"] == "p135"


def test_two_quarters_may_be_collected_at_once():
    collect = next(d for d in DEPLOYMENTS if d["name"] == "collect-quarterly")
    assert "concurrency_limit" not in collect, "the warehouse's quarter lock serialises one quarter, not all"


def _collected_on(day: int, month: int, hour: int) -> bool:
    """Whether a collect-quarterly schedule runs on that day of that month before `hour`."""
    collect = next(d for d in DEPLOYMENTS if d["name"] == "collect-quarterly")
    for schedule in collect["schedules"]:
        minute, hours, days, months, _ = schedule["cron"].split()
        if (int(hours) < hour and (days == "*" or str(day) in days.split(","))
                and str(month) in months.split(",")):
            return True
    return False


def test_reminders_run_before_and_after_each_deadline_each_after_a_collect():
    """A reminder names the units whose report has not come: the inbox is collected that morning
    first (a file sent on the 3rd was reminded on the 5th as missing)."""
    remind = next(d for d in DEPLOYMENTS if d["name"] == "remind-missing")
    days = sorted(int(s["cron"].split()[2]) for s in remind["schedules"])
    assert days[0] < 10 < days[-1], "deadlines fall on the 10th"
    for schedule in remind["schedules"]:
        _, hour, day, months, _ = schedule["cron"].split()
        for month in months.split(","):
            assert _collected_on(int(day), int(month), int(hour)), schedule["cron"]


def test_late_files_and_corrections_are_collected_before_the_year_end_publication():
    publish = next(d for d in DEPLOYMENTS if d["name"] == "publish-yearly")
    _, hour, day, month, _ = publish["schedules"][0]["cron"].split()
    assert all(_collected_on(d, int(month), int(hour)) for d in range(11, int(day) + 1))


def test_prefect_home_is_never_relative_to_where_a_process_starts():
    import tomllib

    settings = tomllib.loads((ROOT / "prefect.toml").read_text(encoding="utf-8"))
    home = settings.get("home")
    assert home is None or Path(home).is_absolute()
