"""What each analyst view holds, in one sentence or a few: its grain first. The data dictionary
(docs/warehouse.md) prints them, and on PostgreSQL each is the view's own comment, so an analyst
reads it in psql (`\\dv+`) or any client's object browser."""

from __future__ import annotations

# Recreated whenever a programme is loaded: one column per indicator code.
WIDE_VIEW = "v_unit_quarter_indicators"

VIEWS: dict[str, str] = {
    "v_unit_lineage": (
        "One row per unit code, in its latest version: its name, group and the unit it ended up "
        "in after mergers (`current_unit_code`, the unit itself when never merged; `is_merged`). "
        "Read from the table `unit_lineage`, rebuilt whenever the registry is loaded."
    ),
    "v_current_submission": (
        "One row per submission that counts (status `accepted` or `accepted_with_warnings`; a "
        "corrected file turns the earlier one `superseded`), with the unit as named that "
        "quarter and its `current_unit_code`: the unit it belongs to now, after every merger, a "
        "later year's included (the year views give the one of that year's end: group a past "
        "year by theirs)."
    ),
    "v_unit_quarter_indicator": (
        "One row per unit, quarter and indicator, from the current submissions only: the "
        "quarter's value and the year's plan as the unit reported them; `current_unit_code` as "
        "in `v_current_submission` (the unit it belongs to now)."
    ),
    WIDE_VIEW: (
        "One row per unit and quarter (current submissions), one column per indicator code of "
        "the programmes loaded. Recreated whenever a programme is loaded, so its columns follow "
        "the programme files; convenient for spreadsheets and pandas."
    ),
    "v_unit_year_indicator": (
        "One row per unit, year and indicator: the year's figure by the indicator's own rule "
        "(sum, latest quarter or weighted mean), the year's plan (the latest one entered) and, "
        "for weighted means, the total weight. The unit is named and grouped as it stood at the "
        "year's end (`unit_year`), and `current_unit_code` is the unit it belonged to then: a "
        "rename, move or merger in a later year leaves a past year as it was."
    ),
    "v_unit_year_indicator_rollup": (
        "One row per unit at the year's end, year and indicator, like `v_unit_year_indicator` but "
        "with the figures of the units merged by then added to their successor (`units_reporting` "
        "counts them), and its plan for a flow or a weighted mean what they planned, each its own "
        "year's plan; a merger in a later year does not reach this year. A unit closed during the "
        "year without a successor keeps a row of its own, for its flows: its stock there is the "
        "last it reported, counted in no group's or the bloc's year-end stock."
    ),
    "v_year_group_indicator": (
        "One row per year, group (agencies or enterprises) and indicator: flows are the units' "
        "year figures added up, weighted means are weighted, and stocks (members, workers) are "
        "the sum of the `v_unit_year_indicator_rollup` rows, so a unit merged during the year "
        "is counted once, in its successor, and a unit closed during the year without a successor "
        "adds no stock (`units_reporting` counts the units behind the figure)."
    ),
    "v_year_indicator": (
        "One row per year and indicator: the figure and plan of the whole bloc, aggregated like "
        "`v_year_group_indicator` (stocks counted once across mergers, only units existing at year end)."
    ),
    "v_key_task_latest": (
        "One row per unit, year and key task (nhiệm vụ trọng tâm), in the state of the unit's "
        "latest current submission that year; a task counts once a year. The unit is named and "
        "grouped as it stood at the year's end, and `current_unit_code` is the unit it belonged to then. "
        "A unit merged or closed during the year counts its tasks in the state of its last report "
        "(a task its successor takes over is the successor's to list again)."
    ),
    "v_key_tasks_by_source": (
        "One row per year, group and key-task source: how many tasks were identified and how "
        "many completed, each under the group its unit had at the year's end (`v_key_task_latest`)."
    ),
    "v_year_end_programme135": (
        "One row per year and headline metric, in the report's order: the year-end table of "
        "Programme 135 with value, plan and percentage of plan."
    ),
    "v_submission_status": (
        "One row per submission version, whatever its status: when it arrived against its unit's "
        "`deadline` (the quarter's, or the unit's extension when `is_extended`; `is_on_time`, from "
        "`received_at`, the file's time capped at when p135 first saw it), its `version` number and whether it `is_latest`: the latest to "
        "arrive, whatever its status, so a rejected or held file sent after the accepted one is "
        "the latest (the version that counts is in `v_current_submission`). Versions follow "
        "p135's own arrival order: the collect run that first saw the file, then `received_at`, "
        "then id. A file is counted for the unit its template was handed out to; a merged "
        "unit's rows keep its name."
    ),
    "v_unit_completeness": (
        "One row per year, quarter and unit expected to report (in force on the quarter's last "
        "day): its `deadline` (the programme's, or the unit's extension when `is_extended`), the "
        "files received and its `state`: `missing` (nothing received), `rejected` (files, none "
        "passed), `held` (passed while the quarter was approved; loaded when it is reopened), "
        "`on_time` or `late` (accepted; on time when its first passing file, in arrival order "
        "(`version`), arrived by the deadline: a correction sent later with an earlier file time "
        "does not change it; `first_passed_at` is that file's `received_at`)."
    ),
    "v_completeness": (
        "One row per year, quarter and unit group (no total row): DHIS2's completeness and "
        "timeliness. `expected` units in force on the quarter's last day, `received` (sent "
        "anything), `accepted`, `on_time`, `late`, `missing`, `rejected`; `reporting_rate` = "
        "accepted / expected and `on_time_rate` = on time / expected, in percent (0-100, one "
        "decimal, never null). Units whose passing file is held are received but neither accepted "
        "nor rejected."
    ),
    "v_period_approval": (
        "One row per year and quarter: `state` (`open`, `approved`: locked, or `reopened`), who "
        "approved it and when, who reopened it, when and why, and how many files are `held` "
        "waiting for a reopen. Every decision is in the table `period_audit`."
    ),
    "v_validation_findings": (
        "One row per finding of the quality checks, with its submission, file, unit, cell and "
        "the Vietnamese message the clerk saw."
    ),
}
