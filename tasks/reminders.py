"""Reminders to units without an accepted report: one Vietnamese letter each, and one message
to the ops team."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from reporting.findings import FILE_NAME_OTHER_UNIT, WRONG_TEMPLATE_RULES
from reporting.periods import LOCAL_TZ, Period
from reporting.programme import Programme
from reporting.units import Registry
from reporting.vn_format import vn_number
from tasks.completeness import Completeness, deadline_vi, unit_lines
from tasks.templates import template_file_name

# Units that still owe an accepted report (held ones have passed: they wait for a reopen).
DUE_STATES = ("missing", "rejected")
SUFFIX = ".txt"


def days_left_vi(deadline: dt.date, today: dt.date) -> str:
    days = (deadline - today).days
    if days > 0:
        return f"còn {vn_number(days)} ngày"
    if days == 0:
        return "hôm nay là ngày cuối cùng"
    return f"đã quá hạn {vn_number(-days)} ngày"


def reminder_text(unit: dict, c: Completeness, programme: Programme, registry: Registry, today: dt.date) -> str:
    """The letter to one unit: deadline, what is missing or what to fix, the template to use."""
    period = c.period
    deadline = _date(unit["deadline"])
    extended = " (đã gia hạn)" if unit["is_extended"] else ""
    version = registry.version_on(unit["unit_code"], period.ends_on)
    template = template_file_name(version, period) if version else f"{unit['unit_code']}_{period.key}.xlsx"
    lines = [
        f"Kính gửi: {unit['unit_name']} (mã đơn vị {unit['unit_code']})",
        "",
        f"{programme.organisation_vi} nhắc đơn vị về báo cáo {period.label_vi} thực hiện {programme.title_vi}.",
        "",
        f"Hạn nộp: {deadline:%d/%m/%Y}{extended}, {days_left_vi(deadline, today)}.",
    ]
    sent = c.files_named_for(unit["unit_code"]) if unit["state"] == "missing" else []
    if sent:
        # Something came, under the unit's code, that could not be read as its report.
        for f in sent:
            received = _instant(f["received_at"])
            when = f" lúc {received.astimezone(LOCAL_TZ):%H:%M ngày %d/%m/%Y}" if received else ""
            why = ("tệp là mẫu báo cáo đã cấp cho đơn vị khác" if f.get("template_unit_code")
                   else "tệp bị từ chối ngay khi nhận, không được đọc" if f.get("refused")
                   else "tệp không đọc được như báo cáo của đơn vị")
            lines.append(f"Tình trạng: đã nhận tệp {f['original_name']}{when} nhưng {why} nên chưa được tính: "
                         f"{f['first_error'] or ''}")
    elif unit["state"] == "missing":
        lines.append("Tình trạng: chưa nhận được báo cáo của đơn vị.")
    elif (errors := c.errors.get(unit["unit_code"], [])) and all(e["rule_id"] == FILE_NAME_OTHER_UNIT for e in errors):
        # A file in the unit's template named for another unit: maybe not the unit's at all.
        received = _instant(unit["last_received_at"])
        when = f" lúc {received.astimezone(LOCAL_TZ):%H:%M ngày %d/%m/%Y}" if received else ""
        lines.append(f"Tình trạng: đã nhận tệp {errors[0]['original_name']}{when} theo mẫu báo cáo của đơn vị, nhưng "
                     f"tên tệp mang mã của đơn vị khác nên tệp chưa được tính: {errors[0]['message_vi']}")
        lines.append("Nếu đơn vị chưa gửi báo cáo của mình, xin gửi báo cáo theo mẫu dưới đây.")
    else:
        received = _instant(unit["last_received_at"])
        when = f" lúc {received.astimezone(LOCAL_TZ):%H:%M ngày %d/%m/%Y}" if received else ""
        lines.append(f"Tình trạng: đã nhận tệp của đơn vị{when} nhưng báo cáo bị TỪ CHỐI. Cần sửa:")
        for e in c.errors.get(unit["unit_code"], []):
            place = f"{e['sheet'] or ''}{'!' + e['cell'] if e['cell'] else ''}"
            lines.append(f"  - {place + ': ' if place else ''}{e['message_vi']}")
        wrong_template = any(e["rule_id"] in WRONG_TEMPLATE_RULES for e in c.errors.get(unit["unit_code"], []))
        lines.append(
            f"Xem đủ các lỗi trong tệp phản hồi {unit['unit_code']}.xlsx (thư mục phản hồi {period.key}); "
            + ("tệp đã gửi là mẫu của kỳ khác: hãy nhập số liệu vào mẫu dưới đây rồi gửi lại." if wrong_template
               else "sửa ngay trong tệp đã gửi, lưu lại và gửi lại.")
        )
    lines += [
        "",
        f"Mẫu báo cáo cần dùng: tệp {template} (mẫu {programme.template_version}); chỉ điền vào các ô "
        "để trống của tệp mẫu, không đổi tên sheet hay thêm cột.",
        f"Nếu đơn vị chưa nhận được tệp mẫu này hoặc cần hỗ trợ, xin liên hệ "
        f"{programme.contact_vi or programme.organisation_vi}.",
        "",
    ]
    return "\n".join(lines)


@task(cache_policy=NO_CACHE)
def write_reminders(
    c: Completeness, programme: Programme, registry: Registry, data_dir: Path, today: dt.date
) -> list[Path]:
    """Write <data_dir>/reminders/<year>-Q<q>/<unit_code>.txt for each unit that owes a report;
    earlier letters to units that no longer owe one are removed."""
    out = data_dir / "reminders" / c.period.key
    out.mkdir(parents=True, exist_ok=True)
    due = c.units[c.units["state"].isin(DUE_STATES)].to_dict("records")
    written = []
    for unit in due:
        path = out / f"{unit['unit_code']}{SUFFIX}"
        path.write_text(reminder_text(unit, c, programme, registry, today), encoding="utf-8")
        written.append(path)
    for stale in set(out.glob(f"*{SUFFIX}")) - set(written):
        stale.unlink()
    return written


def clear_reminders(data_dir: Path, period) -> int:
    """Remove the quarter's letters (it was approved: no unit is to be asked for a report it
    cannot send, and an old letter left there would be sent by mistake); return how many."""
    letters = list((data_dir / "reminders" / period.key).glob(f"*{SUFFIX}"))
    for letter in letters:
        letter.unlink()
    return len(letters)


def ops_message(c: Completeness, programme: Programme, folder: Path) -> tuple[str, str]:
    """(subject, body) of the one message to the ops team."""
    missing, rejected = unit_lines(c, "missing"), unit_lines(c, "rejected")
    subject = f"p135: nhắc nộp báo cáo {c.period.label_vi}: {len(missing)} chưa nộp, {len(rejected)} bị từ chối"
    body = [
        f"{c.period.label_vi} (hạn nộp {deadline_vi(programme, c.period)}): {len(missing)} đơn vị chưa nộp, "
        f"{len(rejected)} đơn vị bị từ chối. Thư nhắc từng đơn vị: {folder}",
    ]
    if missing:
        body += ["", "Chưa nộp:", *(f"- {x}" for x in missing)]
    if rejected:
        body += ["", "Bị từ chối:", *(f"- {x}" for x in rejected)]
    if not missing and not rejected:
        body = [f"{c.period.label_vi}: mọi đơn vị đã có báo cáo được chấp nhận; không cần nhắc."]
    return subject, "\n".join(body)


@task
def closed_quarter_vi(period: Period, missing: int, rejected: int, removed: int, folder: str) -> str:
    """Why an approved quarter gets no reminders, and what to do to take more reports."""
    return (
        f"{period.label_vi} đã được phê duyệt và khóa sổ nên không viết thư nhắc ({missing} đơn vị chưa nộp, "
        f"{rejected} bị từ chối). Nếu cần nhận thêm báo cáo, hãy mở lại quý (p135 reopen --year {period.year} "
        f"--quarter {period.quarter} --reason ...) rồi nhắc."
        + (f" Đã xóa {removed} thư nhắc viết trước khi phê duyệt trong {folder}/, để không gửi nhầm." if removed else "")
    )


def publish_closed_artifact(period: Period, text_vi: str) -> None:
    """The quarter's reminder card says no letter was written (not the letters of an earlier run)."""
    create_markdown_artifact(
        key=f"remind-{period.year}-q{period.quarter}",
        markdown=f"# Không nhắc nộp báo cáo {period.label_vi}\n\n{text_vi}",
        description=f"Không nhắc nộp {period.label_vi}: quý đã phê duyệt và khóa sổ",
    )


def publish_reminder_artifact(period: Period, subject: str, body: str, unsent_block: str | None = None) -> None:
    """Show who was reminded in the Prefect UI, and that the ops team was not told when the
    notification block `unsent_block` failed (the run still completes: the letters are written)."""
    unsent = (f"**Không gửi được thông báo qua khối {unsent_block}** (khối chưa được tạo, hoặc dịch vụ nhận không "
              "trả lời; xem nhật ký của lần chạy): tổ vận hành chưa được báo. Các thư nhắc dưới đây vẫn được viết.\n\n"
              if unsent_block else "")
    create_markdown_artifact(
        key=f"remind-{period.year}-q{period.quarter}",
        markdown=f"# {subject}\n\n" + unsent + body.replace("\n", "  \n"),
        description=("Chưa gửi được thông báo: " if unsent_block else "") + subject.removeprefix("p135: "),
    )


def _date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _instant(value) -> dt.datetime | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
