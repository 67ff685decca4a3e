"""A quarter's approval in a collect run: held files while it is locked, released once reopened."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from expectations.gate import CheckedBatch
from reporting.periods import LOCAL_TZ, Period
from reporting.programme import Programme
from warehouse import approval as approvals
from warehouse.approval import Approval, approval_of, release_held
from warehouse.engine import engine_for
from warehouse.feedback_log import forget_feedback
from warehouse.load import Guard
from warehouse.locks import holder_name, quarter_lock

PASSING = ("accepted", "accepted_with_warnings")


@task(cache_policy=NO_CACHE)
def fetch_approval(data_dir: Path, period: Period) -> Approval:
    """Whether the quarter is approved (locked), by whom and since when."""
    return approval_of(engine_for(data_dir), period.year, period.quarter) or Approval(period.year, period.quarter, "open")


@task(cache_policy=NO_CACHE)
def release_held_files(data_dir: Path, period: Period) -> list[str]:
    """Load the files that passed while the quarter was approved, now that it is open again."""
    return release_held(engine_for(data_dir), period.year, period.quarter)


def approve_quarter(data_dir: Path, period: Period, actor: str, note: str | None, wait_seconds: float = 600) -> bool:
    """Approve the quarter once no collect run is working on it (a plain function, no Prefect run);
    False when it was approved already."""
    engine = engine_for(data_dir)
    with quarter_lock(engine, period.year, period.quarter, holder_name(f"approval by {actor}"), wait_seconds=wait_seconds):
        return approvals.approve(engine, period.year, period.quarter, actor, note)


@task(cache_policy=NO_CACHE)
def forget_released_feedback(data_dir: Path, period: Period, released: list[str], guard: Guard | None = None) -> None:
    """The feedback of files just loaded told of a hold: forget it, so the run writes their verdict."""
    forget_feedback(engine_for(data_dir), period.year, period.quarter, released, guard)


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def hold_passing(checked: CheckedBatch) -> CheckedBatch:
    """The same verdicts, with every passing file held instead of loaded (the quarter is locked)."""
    status = {sha: "held" if s in PASSING else s for sha, s in checked.status.items()}
    return dataclasses.replace(checked, status=status)


def closed_rejected_note_vi(approval: Approval, programme: Programme, period: Period) -> str:
    """What a clerk whose file was rejected after approval is told: sending again before the
    deadline no longer helps; the quarter must be reopened first."""
    when = f" ngày {approval.approved_at.astimezone(LOCAL_TZ):%d/%m/%Y}" if approval.approved_at else ""
    who = f" bởi {approval.approved_by}" if approval.approved_by else ""
    contact = programme.contact_vi or programme.organisation_vi
    return (
        f"Báo cáo CHƯA được tiếp nhận: tệp có lỗi (xem bên dưới). Số liệu {period.label_vi} đã được phê duyệt"
        f"{who}{when} và khóa sổ, nên tệp gửi thêm không được đưa vào số liệu tổng hợp. Nếu cần sửa số liệu "
        f"của kỳ này, hãy sửa các lỗi dưới đây rồi liên hệ {contact} để đề nghị mở lại kỳ báo cáo."
    )


def closed_note_vi(approval: Approval, programme: Programme, period: Period) -> str:
    """What a clerk whose file arrived after approval is told: closed, kept, and whom to contact."""
    when = f" ngày {approval.approved_at.astimezone(LOCAL_TZ):%d/%m/%Y}" if approval.approved_at else ""
    who = f" bởi {approval.approved_by}" if approval.approved_by else ""
    contact = programme.contact_vi or programme.organisation_vi
    return (
        f"Số liệu {period.label_vi} đã được phê duyệt{who}{when} và khóa sổ. Tệp này đã được lưu và "
        "kiểm tra (kết quả bên dưới) nhưng CHƯA được đưa vào số liệu tổng hợp. Nếu cần sửa số liệu "
        f"của kỳ này, hãy liên hệ {contact} để đề nghị mở lại kỳ báo cáo; khi kỳ được mở lại, tệp này "
        "sẽ được đưa vào mà không cần gửi lại."
    )
