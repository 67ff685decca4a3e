"""The unit registry: every grassroots party organisation of the bloc, with its history."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from reporting.programme import GROUPS, programmes_dir

REGISTRY_FILE_NAME = "units.csv"
UNIT_TYPES = ("chi_bo_co_so", "dang_bo_co_so")


class RegistryError(ValueError):
    """The registry file is missing or inconsistent."""


@dataclass(frozen=True)
class UnitVersion:
    """One row of the registry: a unit as it was named and placed between two dates."""

    unit_code: str
    name_vi: str
    unit_group: str
    unit_type: str
    valid_from: dt.date
    valid_to: dt.date | None
    successor_code: str | None

    def in_force_on(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class Registry:
    versions: tuple[UnitVersion, ...]
    source_sha256: str

    def in_force_on(self, day: dt.date) -> list[UnitVersion]:
        """The units that exist on `day`, one version each, ordered by code."""
        return sorted((v for v in self.versions if v.in_force_on(day)), key=lambda v: v.unit_code)

    def version_on(self, unit_code: str, day: dt.date) -> UnitVersion | None:
        for version in self.versions:
            if version.unit_code == unit_code and version.in_force_on(day):
                return version
        return None


def load_registry(path: Path | None = None) -> Registry:
    """Read and check the registry CSV (default: units.csv beside the programme files)."""
    path = Path(path) if path else programmes_dir() / REGISTRY_FILE_NAME
    raw = path.read_bytes()
    try:
        rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    except UnicodeDecodeError as exc:
        raise RegistryError(f"{path}: not UTF-8: {exc}") from exc
    versions = []
    for line, row in enumerate(rows, start=2):
        try:
            versions.append(
                UnitVersion(
                    unit_code=row["unit_code"].strip(),
                    name_vi=unicodedata.normalize("NFC", row["name_vi"].strip()),
                    unit_group=row["unit_group"].strip(),
                    unit_type=row["unit_type"].strip(),
                    valid_from=dt.date.fromisoformat(row["valid_from"]),
                    valid_to=dt.date.fromisoformat(row["valid_to"]) if row["valid_to"] else None,
                    successor_code=row["successor_code"].strip() or None,
                )
            )
        except (KeyError, ValueError, AttributeError) as exc:
            raise RegistryError(f"{path}, line {line}: {exc}") from exc
    registry = Registry(tuple(versions), hashlib.sha256(raw).hexdigest())
    _check(registry, path)
    return registry


def _check(registry: Registry, path: Path) -> None:
    problems = []
    by_code: dict[str, list[UnitVersion]] = {}
    for v in registry.versions:
        by_code.setdefault(v.unit_code, []).append(v)
        if v.unit_group not in GROUPS:
            problems.append(f"{v.unit_code}: unknown group {v.unit_group!r}")
        if v.unit_type not in UNIT_TYPES:
            problems.append(f"{v.unit_code}: unknown type {v.unit_type!r}")
        if v.valid_to is not None and v.valid_to < v.valid_from:
            problems.append(f"{v.unit_code}: valid_to before valid_from")
    for code, versions in by_code.items():
        ordered = sorted(versions, key=lambda v: v.valid_from)
        for earlier, later in zip(ordered, ordered[1:]):
            if earlier.valid_to is None or earlier.valid_to >= later.valid_from:
                problems.append(f"{code}: versions overlap")
    for v in registry.versions:
        if v.successor_code and v.successor_code not in by_code:
            problems.append(f"{v.unit_code}: unknown successor {v.successor_code}")
    if problems:
        raise RegistryError(f"{path}: " + "; ".join(problems))
