"""What changed between two published versions of a year's headline, said in Vietnamese."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from reporting.vn_format import round_half_up, vn_number

# The view rounds figures to 3 decimals: anything smaller is not a change.
TOLERANCE = 0.0005


@dataclass(frozen=True)
class Change:
    metric_code: str
    label_vi: str
    unit_vi: str
    decimals: int
    old: float | None
    new: float | None

    @property
    def delta(self) -> float | None:
        return None if self.old is None or self.new is None else self.new - self.old

    def shown_decimals(self) -> int:
        """The figure's own decimals, or as many more (up to 3, the view's rounding) as it takes for
        a change to show: "10,4 → 10,4 (tăng 0,0)" told the reader nothing moved."""
        if self.delta is None:
            return self.decimals
        for places in range(self.decimals, max(self.decimals, 3) + 1):
            if round_half_up(self.new, places) != round_half_up(self.old, places):
                return places
        return max(self.decimals, 3)

    def text_vi(self) -> str:
        """'Tổng doanh thu…: 9.899,4 → 9.999,4 tỷ đồng (tăng 100,0 tỷ đồng)'."""
        places = self.shown_decimals()
        old = vn_number(self.old, places) if self.old is not None else "(chưa có)"
        new = vn_number(self.new, places) if self.new is not None else "(không còn)"
        line = f"{self.label_vi.lstrip('–- ').strip()}: {old} → {new} {self.unit_vi}"
        if self.delta is not None:
            # The difference of the figures as shown, so that a reader's subtraction agrees
            # (9.999,4 → 9.999,2 is "giảm 0,2", though 9.999,40 - 9.999,15 rounds to 0,3).
            shown = round_half_up(self.new, places) - round_half_up(self.old, places)
            direction = "tăng" if self.delta > 0 else "giảm"
            line += f" ({direction} {vn_number(abs(shown), places)} {self.unit_vi})"
        return line


def _number(value: Any) -> float | None:
    if value is None:
        return None
    v = float(value)
    return None if math.isnan(v) else v


def figure_changes(previous: list[dict[str, Any]], current: list[dict[str, Any]]) -> list[Change]:
    """Headline values that differ between two versions (rows: metric_code, label_vi, value, …)."""
    before = {r["metric_code"]: r for r in previous}
    changes = []
    for r in current:
        old_row = before.get(r["metric_code"])
        old = _number(old_row["value"]) if old_row else None
        new = _number(r["value"])
        same = (old is None and new is None) or (
            old is not None and new is not None and abs(old - new) <= TOLERANCE
        )
        if not same:
            changes.append(Change(
                r["metric_code"], r["label_vi"], r["display_unit_vi"], int(r["display_decimals"]), old, new,
            ))
    # A figure the new version no longer has (its indicator renamed or dropped) is a change too.
    now = {r["metric_code"] for r in current}
    for code, r in before.items():
        if code not in now and _number(r["value"]) is not None:
            changes.append(Change(code, r["label_vi"], r["display_unit_vi"], int(r["display_decimals"]),
                                  _number(r["value"]), None))
    return changes


def changes_summary_vi(
    version: int, changes: list[Change], reasons: list[str] | None = None, against: int | None = None,
) -> list[str]:
    """The lines a reader sees about version n against `against` (default n-1); `reasons` say why
    there is a new version when no headline figure moved (e.g. 'tệp chương trình đã thay đổi')."""
    if version <= 1:
        return []
    against = version - 1 if against is None else against
    if not changes:
        why = f" ({'; '.join(reasons)})" if reasons else ""
        return [f"So với phiên bản {against}: các số liệu chính không thay đổi{why}."]
    return [f"So với phiên bản {against}, các số liệu sau đã thay đổi:"] + [f"– {c.text_vi()}" for c in changes]


def basis_sha256(
    programme_sha256: str, submissions: list[tuple[str, int, str]], quarters_not_approved: tuple[int, ...] = (),
    registry_sha256: str | None = None, compared_with: str | None = None,
) -> str:
    """A publication's basis: the programme file, the submissions used (unit, quarter, file
    sha256), the quarters not approved, the unit registry (a successor or a group changed in it
    moves the figures of the same submissions) and the year before's official version its text
    compares with ("2023:v2"). The same basis gives the same version."""
    payload = {
        "programme": programme_sha256,
        "submissions": sorted([u, int(q), s] for u, q, s in submissions),
        "not_approved": sorted(int(q) for q in quarters_not_approved),
    }
    if registry_sha256 is not None:
        payload["registry"] = registry_sha256
    if compared_with is not None:
        payload["compared_with"] = compared_with
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
