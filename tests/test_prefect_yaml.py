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
