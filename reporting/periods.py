"""Reporting periods: quarters, their dates and deadlines, in the province's time zone."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


@dataclass(frozen=True)
class Period:
    year: int
    quarter: int

    def __post_init__(self) -> None:
        if self.quarter not in ROMAN:
            raise ValueError(f"quarter must be 1 to 4, not {self.quarter}")
        if not 2000 <= self.year <= 2100:
            raise ValueError(f"year {self.year} is out of range")

    @property
    def key(self) -> str:
        return f"{self.year}-Q{self.quarter}"

    @property
    def label_vi(self) -> str:
        return f"Quý {ROMAN[self.quarter]}/{self.year}"

    @property
    def starts_on(self) -> dt.date:
        return dt.date(self.year, 3 * self.quarter - 2, 1)

    @property
    def ends_on(self) -> dt.date:
        if self.quarter == 4:
            return dt.date(self.year, 12, 31)
        return dt.date(self.year, 3 * self.quarter + 1, 1) - dt.timedelta(days=1)

    def previous(self) -> Period | None:
        """The previous quarter of the same reporting year, if any."""
        return Period(self.year, self.quarter - 1) if self.quarter > 1 else None


def deadline_at(deadline_on: dt.date) -> dt.datetime:
    """The instant (UTC) a deadline day ends in the province."""
    end = dt.datetime.combine(deadline_on + dt.timedelta(days=1), dt.time(), tzinfo=LOCAL_TZ)
    return end.astimezone(dt.timezone.utc)


def current_period(now: dt.datetime | None = None) -> Period:
    """The quarter in progress, as seen in Asia/Ho_Chi_Minh."""
    local = (now or dt.datetime.now(dt.timezone.utc)).astimezone(LOCAL_TZ)
    return Period(local.year, (local.month - 1) // 3 + 1)


def period_just_ended(now: dt.datetime | None = None) -> Period:
    """The last quarter that has ended, as seen in Asia/Ho_Chi_Minh."""
    current = current_period(now)
    return Period(current.year, current.quarter - 1) if current.quarter > 1 else Period(current.year - 1, 4)


def period_problem_vi(year: int | None, quarter: int | None) -> str:
    """Why a run's year and quarter name no quarter, as the ops team reads it on the run's page."""
    if quarter is None:
        return (f"Tham số không hợp lệ: có năm ({year}) nhưng không có quý. Hãy cho cả quý (1, 2, 3 hoặc 4), "
                "hoặc bỏ cả năm và quý để lấy quý mặc định.")
    if quarter not in ROMAN:
        return f"Tham số không hợp lệ: quý {quarter} không có; quý là 1, 2, 3 hoặc 4."
    return f"Tham số không hợp lệ: năm {year} nằm ngoài khoảng p135 nhận (2000 đến 2100)."


def resolve_period(year: int | None, quarter: int | None, default: Period) -> Period:
    """The period asked for; with neither year nor quarter given, `default`."""
    if year is None and quarter is None:
        return default
    if quarter is None:
        raise ValueError("give the quarter too when giving the year")
    return Period(year if year is not None else default.year, quarter)
