"""What the ops team sees in the Prefect UI after a run."""

from __future__ import annotations

from collections import Counter

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from expectations.gate import CheckedBatch
from reporting.periods import Period
from warehouse.load import Arrival, Refusal


@task(cache_policy=NO_CACHE)
def summarise_collect(
    period: Period,
    arrivals: list[Arrival],
    known: list[Arrival],
    checked: list[CheckedBatch],
    refused: list[Refusal] = (),
    files: list[dict] | None = None,
) -> dict:
    """Publish a table of this run's verdicts (the top finding of each file, the reason of each
    entry refused unread) and return the counts, with what became of each new file (`files`: its
    unit and status after supersession)."""
    rows, counts, rules, severities = [], Counter(), Counter(), Counter()
    by_sha = {a.sha256: a for a in arrivals}
    for batch in checked:
        rules.update((f.rule_id, f.severity) for f in batch.findings)
        severities.update((f.submission_id, f.severity) for f in batch.findings)
        first, per_file = {}, Counter(f.submission_id for f in batch.findings)
        for finding in batch.findings:
            first.setdefault(finding.submission_id, finding)
        for sha, status in batch.status.items():
            counts[status] += 1
            top = first.get(sha)
            rows.append({
                "unit_code": batch.unit_code.get(sha) or "",
                "file": by_sha[sha].original_name,
                "status": status,
                "findings": per_file[sha],
                "top_finding": f"{top.sheet or ''}!{top.cell or ''} {top.message_vi}" if top else "",
            })
    for r in refused:
        rows.append({"unit_code": "", "file": r.name, "status": "refused", "findings": 0, "top_finding": r.reason_vi})
    rows.sort(key=lambda r: (r["status"] == "accepted", r["unit_code"], r["file"]))
    summary = {
        "period": period.key,
        "files_seen": len(arrivals) + len(known),
        "files_new": len(arrivals),
        "files_known": len(known),
        "accepted": counts["accepted"],
        "accepted_with_warnings": counts["accepted_with_warnings"],
        "rejected": counts["rejected"],
        "refused": len(refused),
        "refusals": [{"name": r.name, "kind": r.kind, "reason": r.reason_vi} for r in refused],
        "files": [
            {
                "file": f["original_name"], "unit_code": f["unit_code"], "status": f["status"],
                "errors": severities[(f["file_sha256"], "error")],
                "warnings": severities[(f["file_sha256"], "warning")],
            }
            for f in files or []
        ],
    }
    if rows:
        top = ", ".join(f"{rule} ({severity}) x{n}" for (rule, severity), n in rules.most_common(5))
        create_table_artifact(
            key=f"collect-{period.year}-q{period.quarter}",
            table=rows,
            description=(
                f"Collect {period.key}: {summary['files_new']} new files, "
                f"{summary['accepted']} accepted, {summary['accepted_with_warnings']} with warnings, "
                f"{summary['rejected']} rejected; {summary['files_known']} already received."
                + (f" Top findings: {top}." if top else "")
                + (f" {len(refused)} mục trong hộp thư bị từ chối, không đọc vì không phải tệp thường "
                   "(liên kết, thư mục, FIFO, thiết bị) hoặc không mở được." if refused else "")
            ),
        )
    return summary


@task
def publish_headline_artifact(year: int, markdown: str) -> None:
    """Show the year-end headline table in the Prefect UI."""
    create_markdown_artifact(
        key=f"ctr135-{year}-headline", markdown=markdown,
        description=f"Programme 135 year-end results {year}",
    )
