"""Imports point down: flows -> tasks -> expectations, warehouse -> reporting."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Each layer and the top-level packages it must never import.
FORBIDDEN = {
    "reporting": {"flows", "tasks", "expectations", "warehouse"},
    "expectations": {"flows", "tasks", "warehouse"},
    "warehouse": {"flows", "tasks", "expectations"},
    "tasks": {"flows"},
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN), ids=sorted(FORBIDDEN))
def test_layer_imports_only_downward(layer):
    offending = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[layer])
        for path in sorted((ROOT / layer).rglob("*.py"))
    }
    assert not {k: v for k, v in offending.items() if v}


def test_reporting_is_a_package_of_its_own():
    for module in ("programme", "units", "periods", "layout", "vn_format"):
        assert (ROOT / "reporting" / f"{module}.py").is_file()
    assert not any((ROOT / "tasks" / f"{m}.py").exists() for m in ("programme", "registry", "periods", "layout", "vn_format"))
