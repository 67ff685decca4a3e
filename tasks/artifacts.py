"""What the ops team sees in the Prefect UI after a run, in Vietnamese."""

from __future__ import annotations

from collections import Counter

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from expectations.gate import CheckedBatch
from reporting.findings import ERROR, STATUS_VI
from reporting.periods import Period
from reporting.programme import Programme
from tasks.completeness import Completeness, completeness_markdown
from warehouse.approval import Approval
from warehouse.load import Arrival, Refusal

SEVERITY_VI = {"error": "lỗi", "warning": "cảnh báo"}
KNOWN_VI = "Đã nhận trước đây"
RENAMED_VI = "Trùng tệp đã nhận, tên khác"
REFUSED_VI = "Từ chối, không thu nhận"
# Table artifact columns: unit, file, verdict, findings, the first one.
COL_UNIT, COL_FILE, COL_STATUS, COL_COUNT, COL_FIRST = (
    "Đơn vị", "Tệp", "Kết quả", "Số lỗi, cảnh báo", "Lỗi hoặc cảnh báo đầu tiên",
)

# The state of a rejected file's unit when the unit is not due in the quarter (merged, dissolved).
NOT_DUE = "not_due"
NOT_DUE_VI = "đơn vị không phải nộp báo cáo quý này"


def counts_line(summary: dict) -> str:
    """The collect summary as scripts read it (a contract): plain digits, this exact form; files
    held while the quarter is approved are added at the end, only when there are some."""
    held = f", {summary['held']} tạm giữ" if summary.get("held") else ""
    return (
        f"{summary['period']}: {summary['files_seen']} tệp, {summary['files_new']} tệp mới "
        f"({summary['files_known']} tệp đã nhận), {summary['accepted']} chấp nhận, "
        f"{summary['accepted_with_warnings']} có cảnh báo, {summary['rejected']} từ chối{held}"
    )


def first_findings(findings) -> dict:
    """Per submission, the finding to quote: its first error, else its first warning (a rejected
    file is never explained by a warning)."""
    first: dict = {}
    for finding in findings:
        top = first.get(finding.submission_id)
        if top is None or (top.severity != ERROR and finding.severity == ERROR):
            first[finding.submission_id] = finding
    return first


def first_finding_text(finding) -> str:
    place = f"{finding.sheet or ''}{'!' + finding.cell if finding.cell else ''}"
    return f"{place + ' ' if place else ''}{finding.message_vi}"


@task(cache_policy=NO_CACHE)
def summarise_collect(
    period: Period,
    arrivals: list[Arrival],
    known: list[Arrival],
    checked: list[CheckedBatch],
    completeness: Completeness,
    programme: Programme,
    approval: Approval,
    released: list[str],
    feedback_dir: str,
    refused: list[Refusal] = (),
    files: list[dict] | None = None,
    renamed: list[dict] = (),
    renamed_count: int = 0,
) -> dict:
    """Publish the run's verdicts (a table, with the reason of each inbox entry refused unread and
    each content received before under another name, `renamed`, of `renamed_count` in all) and its
    summary with the completeness table (markdown); return the counts, with what became of each
    new file (`files`: its unit and status after supersession)."""
    rows, counts, rules, severities, rejected_files = [], Counter(), Counter(), Counter(), []
    by_sha = {a.sha256: a for a in arrivals}
    for batch in checked:
        rules.update((f.rule_id, f.severity) for f in batch.findings)
        severities.update((f.submission_id, f.severity) for f in batch.findings)
        first, per_file = first_findings(batch.findings), Counter(f.submission_id for f in batch.findings)
        for sha, status in batch.status.items():
            counts[status] += 1
            top = first.get(sha)
            unit = batch.unit_code.get(sha) or ""
            rows.append({
                COL_UNIT: unit,
                COL_FILE: by_sha[sha].original_name,
                COL_STATUS: STATUS_VI[status],
                COL_COUNT: per_file[sha],
                COL_FIRST: first_finding_text(top) if top else "",
            })
            if status == "rejected":
                rejected_files.append({"unit_code": batch.unit_code.get(sha), "file": by_sha[sha].original_name,
                                       "finding": first_finding_text(top) if top else ""})
    order = {STATUS_VI[s]: n for n, s in enumerate(("rejected", "held", "accepted_with_warnings", "accepted"))}
    rows.sort(key=lambda r: (order.get(r[COL_STATUS], 9), r[COL_UNIT], r[COL_FILE]))
    if known:
        # One row for them all: their verdicts are in the runs that received them, and a national
        # quarter collected again would otherwise send a 60,000-row table on every run.
        rows.append({COL_UNIT: "", COL_FILE: f"{len(known)} tệp", COL_STATUS: KNOWN_VI, COL_COUNT: "",
                     COL_FIRST: "Nội dung trùng với một tệp đã nhận (trước đây hoặc trong lần này): không đọc lại."})
    rows += [{COL_UNIT: "", COL_FILE: r.name, COL_STATUS: REFUSED_VI, COL_COUNT: "", COL_FIRST: r.reason_vi}
             for r in refused]
    rows += [{COL_UNIT: r["unit_code"] or "", COL_FILE: r["name"], COL_STATUS: RENAMED_VI, COL_COUNT: "",
              COL_FIRST: renamed_text_vi(r)} for r in renamed]
    summary = {
        "period": period.key,
        "files_seen": len(arrivals) + len(known),
        "files_new": len(arrivals),
        "files_known": len(known),
        "accepted": counts["accepted"],
        "accepted_with_warnings": counts["accepted_with_warnings"],
        "rejected": counts["rejected"],
        "held": counts["held"],
        "released": len(released),
        "rejected_files": sorted(rejected_files, key=lambda r: (r["unit_code"] or "~", r["file"])),
        "feedback_dir": feedback_dir,
        "refused": len(refused),
        "refusals": [{"name": r.name, "kind": r.kind, "reason": r.reason_vi} for r in refused],
        "renamed_known": list(renamed),
        "renamed_known_count": renamed_count,
        "files": [
            {
                "file": f["original_name"], "unit_code": f["unit_code"], "status": f["status"],
                "errors": severities[(f["file_sha256"], "error")],
                "warnings": severities[(f["file_sha256"], "warning")],
            }
            for f in files or []
        ],
    }
    states = dict(zip(completeness.units["unit_code"], completeness.units["state"]))
    # Where the whole quarter stands, whichever run decided it (a killed run's verdicts included).
    summary["unit_states"] = dict(Counter(states.values()))
    for r in summary["rejected_files"]:
        # A unit not due this quarter (merged, dissolved) is in no count of the quarter: said beside it.
        r["unit_state"] = states.get(r["unit_code"]) or (NOT_DUE if r["unit_code"] else None)
    key = f"collect-{period.year}-q{period.quarter}"
    card = card_line(summary)
    create_table_artifact(key=key, table=rows, description=card)
    create_markdown_artifact(
        key=f"{key}-tong-hop",
        markdown=_summary_markdown(summary, rules, completeness, programme, approval, period),
        description=card,
    )
    return summary


def renamed_text_vi(r: dict) -> str:
    """A content received before under another name: which, and what became of it."""
    verdict = STATUS_VI.get(r["status"], r["status"]) if r["status"] else "nhận trong lần thu nhận này"
    unit = f"{r['unit_code']}: " if r["unit_code"] else ""
    return f"trùng với {r['earlier_name']} ({unit}{verdict})"


def card_line(summary: dict) -> str:
    """The counts, short enough for an artifact card (rejected first: what needs action)."""
    if not summary["files_new"]:
        # A reopened quarter's collect loads its held files though nothing is new: that is its news.
        released = f"; {summary['released']} tệp tạm giữ nay được đưa vào số liệu" if summary.get("released") else ""
        return f"{summary['period']}: không có tệp mới ({summary['files_known']} tệp đã nhận){released}"
    held = f", {summary['held']} tạm giữ" if summary["held"] else ""
    refused = f"; {summary['refused']} mục không thu nhận" if summary["refused"] else ""
    return (
        f"{summary['period']}: {summary['rejected']} từ chối, {summary['accepted_with_warnings']} cảnh báo, "
        f"{summary['accepted']} chấp nhận{held}; {summary['files_new']}/{summary['files_seen']} tệp mới{refused}"
    )


def _extra_counts(summary: dict) -> str:
    parts = []
    if summary["held"]:
        parts.append("tệp tạm giữ: kỳ đã khóa sổ, chưa đưa vào số liệu")
    if summary["released"]:
        parts.append(f"{summary['released']} tệp tạm giữ nay được đưa vào")
    if summary["refused"]:
        parts.append(f"{summary['refused']} mục trong hộp thư bị từ chối, không thu nhận")
    if not summary["files_new"]:
        parts.append("không có tệp mới")
    return ("; " + "; ".join(parts)) if parts else ""


def _summary_markdown(
    summary: dict, rules: Counter, completeness: Completeness, programme: Programme, approval: Approval, period: Period
) -> str:
    lines = [
        f"# Thu nhận báo cáo {period.label_vi}",
        "",
        f"**{counts_line(summary)}**{_extra_counts(summary)}.",
        "",
        "| Tệp trong hộp thư | Tệp mới | Đã nhận trước đây | Chấp nhận | Có cảnh báo | Từ chối | Tạm giữ |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {summary['files_seen']} | {summary['files_new']} | {summary['files_known']} | {summary['accepted']} "
        f"| {summary['accepted_with_warnings']} | {summary['rejected']} | {summary['held']} |",
        "",
    ]
    if not summary["files_new"]:
        lines += ["Không có tệp mới trong lần thu nhận này.", ""]
    if approval.is_locked:
        lines += [f"Kỳ báo cáo đã được phê duyệt (khóa sổ) bởi {approval.approved_by}: tệp mới đạt kiểm tra "
                  "được tạm giữ, chưa đưa vào số liệu, cho đến khi kỳ được mở lại (`p135 reopen`).", ""]
    if summary["rejected_files"]:
        lines += [f"## Tệp bị từ chối ({len(summary['rejected_files'])})", ""]
        lines += [f"- {r['unit_code'] or '(không rõ đơn vị)'} – {r['file']}: {r['finding']}"
                  + (" *(đơn vị đã có bản đạt kiểm tra)*" if r.get("unit_state") in ("on_time", "late", "held")
                     else f" *({NOT_DUE_VI})*" if r.get("unit_state") == NOT_DUE else "")
                  for r in summary["rejected_files"]]
        lines += ["", f"Phản hồi cho từng đơn vị: `{summary['feedback_dir']}`", ""]
    if summary["refusals"]:
        lines += [f"## Mục trong hộp thư không được đọc ({len(summary['refusals'])})", ""]
        lines += [f"- `{r['name']}`: {r['reason']}" for r in summary["refusals"]]
        lines.append("")
    if summary["renamed_known"]:
        lines += [f"## Tệp trùng nội dung với tệp đã nhận, mang tên khác ({summary['renamed_known_count']})", "",
                  "Không kiểm tra lại: muốn gửi lại thì mở tệp, lưu lại rồi gửi.", ""]
        lines += [f"- `{r['name']}`: {renamed_text_vi(r)}" for r in summary["renamed_known"]]
        if summary["renamed_known_count"] > len(summary["renamed_known"]):
            lines.append(f"- ... và {summary['renamed_known_count'] - len(summary['renamed_known'])} tệp khác.")
        lines.append("")
    if rules:
        lines += ["## Lỗi và cảnh báo hay gặp", "", "| Mã quy tắc | Mức độ | Số lần |", "|---|---|---:|"]
        lines += [f"| {rule} | {SEVERITY_VI.get(sev, sev)} | {n} |" for (rule, sev), n in rules.most_common(5)]
        lines.append("")
    lines.append(completeness_markdown(completeness, programme))
    return "\n".join(lines)


@task
def publish_headline_artifact(year: int, markdown: str, unapproved: list[str] | None = None) -> None:
    """Show the year-end headline table in the Prefect UI; a draft says so on its card too."""
    description = f"Kết quả thực hiện Chương trình 135 năm {year}"
    if unapproved:
        description = f"DỰ THẢO – {description} (chưa phê duyệt {', '.join(unapproved)})"
    create_markdown_artifact(key=f"ctr135-{year}-headline", markdown=markdown, description=description)
