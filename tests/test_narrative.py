"""The narrative's words follow the figures: pure functions, any year, any bloc."""

from __future__ import annotations

import pytest

from reporting.narrative import (
    Activity,
    coverage_note,
    draft_note,
    narrative,
    plan_phrase,
    report_markdown,
    spoken_amount,
)
from reporting.programme import programme_for_year

PROGRAMME = programme_for_year(2023)


def rows(**changes) -> list[dict]:
    """The article's 2023 headline, with some figures changed."""
    base = {
        "key_tasks_total": (1966, None, None),
        "key_tasks_ctr135": (365, None, None),
        "key_tasks_other": (1601, None, None),
        "key_tasks_completed": (1966, 1966, 100.0),
        "revenue_bn_vnd": (9899.4, None, None),
        "avg_income_m_vnd": (10.6, 10.0, 106.0),
        "budget_paid_bn_vnd": (870.0, None, None),
        "social_insurance_bn_vnd": (60.82, 45.052, 135.0),
    }
    base.update(changes)
    out = []
    for h in PROGRAMME.headline:
        value, plan, pct = base[h.metric_code]
        out.append({
            "metric_code": h.metric_code, "label_vi": h.label_vi, "value": value, "plan": plan, "pct_of_plan": pct,
            "display_unit_vi": h.display_unit_vi, "display_decimals": h.display_decimals,
        })
    return out


@pytest.mark.parametrize(("value", "decimals", "said"), [
    (9899.4, 1, "trên 9.899"),
    (9899.97, 1, "trên 9.899"),
    (870.0, 1, "870"),
    (60.82, 1, "trên 60,8"),
    (60.8, 1, "60,8"),
    (10.6, 1, "10,6"),
    (10.64, 1, "trên 10,6"),
    (1966, 0, "1.966"),
], ids=["revenue", "never-rounds-up", "whole", "over-a-tenth", "exact-tenth", "income", "income-over", "count"])
def test_over_is_said_only_where_the_figure_exceeds_the_number_said(value, decimals, said):
    assert spoken_amount(value, decimals) == said


@pytest.mark.parametrize(("value", "plan", "pct", "phrase"), [
    (10.6, 10.0, 106.0, "đạt 106% kế hoạch, vượt kế hoạch đề ra"),
    (10.0, 10.0, 100.0, "đạt 100% kế hoạch"),
    (9.5, 10.0, 95.0, "bằng 95% kế hoạch, chưa đạt kế hoạch đề ra"),
    (9.97, 10.0, 99.7, "bằng 99,7% kế hoạch, chưa đạt kế hoạch đề ra"),
    (10.02, 10.0, 100.2, "đạt 100,2% kế hoạch, vượt kế hoạch đề ra"),
    (5.0, None, None, ""),
], ids=["over", "met", "missed", "missed-by-a-little", "over-by-a-little", "no-plan"])
def test_against_plan_the_words_follow_the_figure(value, plan, pct, phrase):
    assert plan_phrase(value, plan, pct) == phrase


def test_the_article_year_reads_as_the_article():
    text = " ".join(narrative(PROGRAMME, rows()))
    assert ("đã xác định và thực hiện hoàn thành toàn bộ 1.966 nhiệm vụ trọng tâm năm 2023, trong đó: 365 nhiệm vụ "
            "theo Chương trình hành động số 135-CTr/TU và 1.601 nhiệm vụ do ngành dọc cấp trên giao và cơ quan, "
            "đơn vị xác định.") in text
    assert "Tổng doanh thu các doanh nghiệp trong Khối đạt trên 9.899 tỷ đồng" in text
    assert "thu nhập bình quân của người lao động đạt 10,6 triệu đồng/tháng (đạt 106% kế hoạch" in text
    assert "nộp ngân sách nhà nước đạt 870 tỷ đồng;" in text
    assert "nộp bảo hiểm xã hội đạt trên 60,8 tỷ đồng (đạt 135% kế hoạch" in text
    assert "chưa" not in text


def test_a_year_that_misses_a_plan_says_so():
    text = " ".join(narrative(PROGRAMME, rows(
        avg_income_m_vnd=(9.44, 10.0, 94.4), social_insurance_bn_vnd=(40.0, 45.052, 88.8),
    )))
    assert "thu nhập bình quân của người lao động đạt 9,4 triệu đồng/tháng" not in text
    assert "đạt trên 9,4 triệu đồng/tháng (bằng 94% kế hoạch, chưa đạt kế hoạch đề ra)" in text
    assert "nộp bảo hiểm xã hội đạt 40 tỷ đồng (bằng 89% kế hoạch, chưa đạt kế hoạch đề ra)" in text
    assert "vượt" not in text


def test_a_year_with_tasks_left_never_says_all():
    text = " ".join(narrative(PROGRAMME, rows(key_tasks_completed=(1900, 1966, 96.6))))
    assert "toàn bộ" not in text
    assert ("đã xác định 1.966 nhiệm vụ trọng tâm năm 2023, trong đó: 365 nhiệm vụ theo Chương trình hành động số "
            "135-CTr/TU và 1.601 nhiệm vụ do ngành dọc cấp trên giao và cơ quan, đơn vị xác định; đến hết năm đã "
            "hoàn thành 1.900 nhiệm vụ, đạt 96,6%, còn 66 nhiệm vụ chưa hoàn thành.") in text


def test_a_draft_made_mid_year_says_how_far_the_figures_reach():
    """A 2024 draft of Q1–Q2 said "đến hết năm" and "Trong năm": the year had not ended."""
    activities = [Activity("Số cuộc kiểm tra", 473, None, "cuộc")]
    mid = " ".join(narrative(PROGRAMME, rows(key_tasks_completed=(1900, 1966, 96.6)), activities, through_quarter=2))
    assert "đến hết Quý II/2023 đã hoàn thành 1.900 nhiệm vụ" in mid and "hết năm" not in mid
    assert "Từ đầu năm đến hết Quý II/2023, các tổ chức cơ sở đảng trong Khối đã báo cáo: số cuộc kiểm tra" in mid
    whole = " ".join(narrative(PROGRAMME, rows(key_tasks_completed=(1900, 1966, 96.6)), activities, through_quarter=4))
    assert "đến hết năm đã hoàn thành" in whole and "Trong năm, các tổ chức cơ sở đảng" in whole


def test_party_building_counts_are_reported_against_their_plans():
    text = " ".join(narrative(PROGRAMME, rows(), [
        Activity("Số đảng viên mới được kết nạp", 222, 246, "đảng viên"),
        Activity("Số cuộc kiểm tra", 473, None, "cuộc"),
    ]))
    assert "số đảng viên mới được kết nạp: 222 đảng viên (bằng 90% kế hoạch, chưa đạt kế hoạch đề ra)" in text
    assert "số cuộc kiểm tra: 473 cuộc." in text


def test_a_draft_names_the_quarters_not_approved():
    assert draft_note(2023, ()) == ""
    assert draft_note(2023, (4,)) == "Số liệu Quý IV/2023 chưa được phê duyệt"
    assert draft_note(2023, (4, 2, 3)) == "Số liệu Quý II/2023, Quý III/2023 và Quý IV/2023 chưa được phê duyệt"
    markdown = report_markdown(2023, rows(), ["Đoạn một."], ["Phiên bản 1."], quarters_not_approved=(3, 4))
    assert markdown.startswith("# DỰ THẢO – Kết quả thực hiện")
    assert "Quý III/2023 và Quý IV/2023 chưa được phê duyệt" in markdown
    assert "| Tổng doanh thu các doanh nghiệp trong Khối | 9.899,4 tỷ đồng |  |  |" in markdown


def test_a_new_version_without_moved_figures_says_why():
    from reporting.versions import Change, changes_summary_vi

    assert changes_summary_vi(1, []) == []
    assert changes_summary_vi(3, [], ["tệp chương trình đã thay đổi"]) == [
        "So với phiên bản 2: các số liệu chính không thay đổi (tệp chương trình đã thay đổi)."]
    moved = Change("budget_paid_bn_vnd", "Nộp ngân sách nhà nước", "tỷ đồng", 1, 870.0, 865.25)
    assert changes_summary_vi(2, [moved])[1] == "– Nộp ngân sách nhà nước: 870,0 → 865,3 tỷ đồng (giảm 4,7 tỷ đồng)"
    # The difference a reader gets by subtracting the figures shown, not the unrounded one (0,25 → 0,3).
    small = Change("revenue_bn_vnd", "Tổng doanh thu", "tỷ đồng", 1, 9999.4, 9999.15)
    assert small.text_vi() == "Tổng doanh thu: 9.999,4 → 9.999,2 tỷ đồng (giảm 0,2 tỷ đồng)"
    # A change too small to show at the figure's decimals is shown with as many more as it needs.
    hidden = Change("avg_income_m_vnd", "Thu nhập bình quân", "triệu đồng/tháng", 1, 10.42, 10.44)
    assert hidden.text_vi() == "Thu nhập bình quân: 10,42 → 10,44 triệu đồng/tháng (tăng 0,02 triệu đồng/tháng)"


@pytest.mark.parametrize(("coverage", "expected"), [
    ({1: (72, 72), 2: (72, 72), 3: (73, 73), 4: (72, 72)}, None),
    ({1: (72, 72), 2: (0, 72), 3: (0, 72), 4: (0, 72)},
     "Phạm vi số liệu: Quý II/2023, Quý III/2023 và Quý IV/2023 chưa có báo cáo nào được chấp nhận. "
     "Các số liệu năm 2023 trong báo cáo này chỉ tổng hợp từ các báo cáo quý đã được chấp nhận."),
    ({1: (70, 72), 2: (72, 72), 3: (71, 72), 4: (0, 72)},
     "Phạm vi số liệu: Quý IV/2023 chưa có báo cáo nào được chấp nhận; Quý I/2023 mới có 70/72 và Quý III/2023 mới "
     "có 71/72 tổ chức cơ sở đảng có báo cáo được chấp nhận. Các số liệu năm 2023 trong báo cáo này chỉ tổng hợp từ "
     "các báo cáo quý đã được chấp nhận."),
], ids=["complete", "one-quarter", "short-and-empty"])
def test_the_coverage_note_says_what_the_years_figures_lack(coverage, expected):
    assert coverage_note(2023, coverage) == expected


def test_the_coverage_note_follows_the_opening():
    paragraphs = narrative(PROGRAMME, rows(), coverage="Phạm vi số liệu: x.")
    assert paragraphs[1] == "Phạm vi số liệu: x."
    assert "Phạm vi" not in " ".join(narrative(PROGRAMME, rows()))


def test_a_figure_is_compared_with_the_year_befores_official_figure():
    """The 2024 report said nothing of 2023: each headline figure now says how it moved, from the
    year before's official report; a mid-year draft (half a year's flows) is not compared."""
    from dataclasses import replace

    programme = replace(PROGRAMME, year=2024)
    before = {"revenue_bn_vnd": 9000.0, "avg_income_m_vnd": 10.6}
    text = " ".join(narrative(programme, rows(), previous_year=before, through_quarter=4))
    assert "so với năm 2023" in text
    assert ", tăng 10,0% so với năm 2023" in text, text
    assert "đạt 10,6 triệu đồng/tháng (đạt 106% kế hoạch, vượt kế hoạch đề ra), bằng năm 2023;" in text
    assert "nộp ngân sách nhà nước đạt 870 tỷ đồng;" in text, "no official figure the year before: no comparison"
    mid = " ".join(narrative(programme, rows(), previous_year=before, through_quarter=2))
    assert "so với năm 2023" not in mid and "bằng năm 2023" not in mid


def test_a_stock_is_named_for_the_quarter_until_the_year_has_ended():
    """A Q1–Q2 draft said "số đảng viên cuối năm": before the year ends it is the quarter's."""
    from types import SimpleNamespace

    import pandas as pd

    from tasks.publishing import party_activities

    bloc = pd.DataFrame([{"indicator_code": "party_members_end", "value": 5578.0, "plan_value": None}])
    for quarters, label in (([1, 2], "Số đảng viên cuối quý"), ([1, 2, 3, 4], "Số đảng viên cuối năm")):
        figures = SimpleNamespace(workbook=SimpleNamespace(bloc=bloc), sources=pd.DataFrame({"quarter": quarters}))
        [members] = party_activities(PROGRAMME, figures)
        assert members.label_vi == label
    # A programme whose headline states the count already: the text does not say it twice.
    from dataclasses import replace

    headline = replace(PROGRAMME.headline[0], metric_code="party_members_end", indicator="party_members_end")
    assert party_activities(replace(PROGRAMME, headline=(*PROGRAMME.headline, headline)), figures) == []


def test_a_figure_the_new_version_no_longer_has_is_a_change():
    """A headline indicator renamed in the programme file left its figure out of the new version,
    which said "các số liệu chính không thay đổi"."""
    from reporting.versions import changes_summary_vi, figure_changes

    before = [{"metric_code": "members_commended", "label_vi": "Số đảng viên được khen thưởng", "value": 402.0,
               "display_unit_vi": "đảng viên", "display_decimals": 0}]
    [gone] = figure_changes(before, [])
    assert gone.text_vi() == "Số đảng viên được khen thưởng: 402 → (không còn) đảng viên"
    assert changes_summary_vi(5, [gone], against=3)[0] == "So với phiên bản 3, các số liệu sau đã thay đổi:"


def test_a_new_official_figure_for_the_year_before_makes_a_new_version():
    """The 2024 report kept "tăng 3,0% so với năm 2023" after 2023's official figure changed: the
    year before's version it compares with is part of the basis."""
    from reporting.versions import basis_sha256

    used = [("DN001", 1, "a" * 64)]
    assert basis_sha256("p", used, (), "r") == basis_sha256("p", used, (), "r", None), "nothing to compare: as before"
    assert basis_sha256("p", used, (), "r", "2023:v2") != basis_sha256("p", used, (), "r", "2023:v5")


@pytest.mark.parametrize(("reported", "compared"), [
    ({1: 72, 2: 72, 3: 72, 4: 72}, True),
    ({1: 72, 2: 70, 3: 66, 4: 72}, True),
    ({1: 7, 2: 0, 3: 0, 4: 2}, False),
    ({1: 72, 2: 72, 3: 72, 4: 40}, False),
], ids=["whole-year", "a-few-missing", "nearly-empty", "q4-half-reported"])
def test_a_year_short_of_reports_is_not_compared_with_the_year_before(reported, compared):
    """2024 with 7 units in Q1 and 2 in Q4 read "giảm 83,0% so với năm 2023" against 72 units."""
    from types import SimpleNamespace

    import pandas as pd

    from tasks.publishing import compared_with

    units = [f"U{n:02d}" for n in range(72)]
    in_force = pd.DataFrame([(u, q) for q in (1, 2, 3, 4) for u in units], columns=["unit_code", "quarter"])
    sources = pd.DataFrame([(u, q) for q, n in reported.items() for u in units[:n]], columns=["unit_code", "quarter"])
    previous = object()
    figures = SimpleNamespace(sources=sources, workbook=SimpleNamespace(in_force=in_force), previous_year=previous)
    assert (compared_with(figures) is previous) is compared
