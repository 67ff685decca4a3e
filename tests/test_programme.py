"""The programme and registry files: loaded, checked, and refused with a clear reason."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import pytest

from reporting.programme import PROGRAMMES_DIR, ProgrammeError, all_programmes, load_programme, programme_for_year
from reporting.units import RegistryError, load_registry

GOOD = (PROGRAMMES_DIR / "ctr135-2023.toml").read_text(encoding="utf-8")


def test_the_2023_programme_declares_what_the_year_reports():
    p = programme_for_year(2023)
    assert p.code == "CTr135-2023"
    assert [c.code for c in p.task_sources] == ["ctr135", "superior", "unit"]
    assert sorted(p.deadlines) == [1, 2, 3, 4]
    income = p.indicator("avg_income_m_vnd")
    assert (income.aggregation, income.weight, income.has_plan, income.group) == ("weighted_mean", "workers", True, "enterprises")
    assert p.indicator("party_members_end").aggregation == "latest"
    assert p.indicator("party_members_end").year_label == "Số đảng viên cuối năm"
    assert p.indicator("new_members_admitted").year_label == "Số đảng viên mới được kết nạp"
    assert p.indicator("revenue_bn_vnd").aggregation == "sum"
    other = next(h for h in p.headline if h.metric_code == "key_tasks_other")
    assert other.task_sources == ("superior", "unit")
    assert {i.code for i in p.indicators_for("agencies")} < {i.code for i in p.indicators_for("enterprises")}


@pytest.mark.parametrize(("change", "reason"), [
    (('aggregation = "weighted_mean"\nweight = "workers"', 'aggregation = "median"\nweight = "workers"'), "không có cách tổng hợp"),
    (('weight = "workers"', 'weight = "staff"'), "không phải là một chỉ tiêu"),
    (('group = "all"', 'group = "farms"'), "không có khối 'farms'"),
    (('task_sources = ["superior", "unit"]', 'task_sources = ["superior", "elsewhere"]'),
     r"không có nguồn nhiệm vụ 'elsewhere' \(task_sources chỉ ghi: ctr135, superior, unit\)"),
    (('code = "revenue_bn_vnd"', 'code = "Revenue (bn)"'), "chỉ được gồm chữ thường"),
    (('4 = 2024-01-10\n', ''), r"quý 1 đến 4 \(còn thiếu quý 4\)"),
    (('4 = 2024-01-10\n', '4 = 2024-01-10\n5 = 2024-04-10\n'), "deadlines: năm chỉ có quý 1 đến 4, không có quý 5"),
    (('year_label_vi = "Số đảng viên cuối năm"', 'year_label_vi = " "'), "year_label_vi phải là một dòng chữ"),
    (('metric_code = "key_tasks_other"', 'metric_code = "key_tasks_ctr135"'),
     r"mã chỉ tiêu chính \(metric_code\) 'key_tasks_ctr135' bị trùng"),
    (('1 = 2023-04-10', '1 = 2022-04-10'), r"hạn nộp quý 1 \(10/04/2022\) phải sau ngày cuối quý 1/2023 \(31/03/2023\)"),
    (('2 = 2023-07-10', '2 = 2023-06-30'), r"hạn nộp quý 2 \(30/06/2023\) phải sau ngày cuối quý 2/2023"),
    (('4 = 2024-01-10', '4 = 2025-01-10'), r"hạn nộp quý 4 \(10/01/2025\) phải sau ngày cuối quý 4/2023 \(31/12/2023\) và không quá 3 tháng"),
    (('2 = 2023-07-10', '2 = 2023-10-07'), r"hạn nộp quý 2 \(07/10/2023\) .* \(có nhầm năm, hoặc đảo ngày và tháng không\?\)"),
    (('plausible_min = 3.0\nplausible_max = 60.0', 'plausible_min = 60.0\nplausible_max = 3.0'),
     r"chỉ tiêu avg_income_m_vnd: plausible_min \(60\) lớn hơn plausible_max \(3\)"),
    (('unit_vi = "tỷ đồng"\ngroup = "enterprises"\naggregation = "sum"\ndecimals = 3\nmax_ratio_to_previous = 5.0\nplausible_max = 10000.0\n\n[[indicators]]\ncode = "workers"',
      'unit_vi = "triệu đồng"\ngroup = "enterprises"\naggregation = "sum"\ndecimals = 3\nmax_ratio_to_previous = 5.0\nplausible_max = 10000.0\n\n[[indicators]]\ncode = "workers"'),
     r"so sánh budget_paid_bn_vnd <= revenue_bn_vnd: hai chỉ tiêu khác đơn vị tính \('triệu đồng' và 'tỷ đồng'\)"),
    (('needs_reason = true', 'needs_reasons = true'),
     r"trạng thái nhiệm vụ thứ \d+ \(stopped\): không có trường 'needs_reasons' \(có phải là 'needs_reason'\?\)"),
    (('contact_vi = ', 'contact_vn = '), r"tệp chương trình: không có trường 'contact_vn' \(có phải là 'contact_vi'\?\)"),
    (('aggregation = "weighted_mean"\nweight = "workers"', 'aggregation = "weighted_mean"'),
     r"chỉ tiêu avg_income_m_vnd: bình quân gia quyền \(weighted_mean\) cần trọng số"),
    (('code = "profit_bn_vnd"', 'code = "revenue_bn_vnd"'), r"mã chỉ tiêu \(code\) 'revenue_bn_vnd' bị trùng"),
    (('unit_vi = "tỷ đồng"', 'unit_vi = " "'), r"label_vi và unit_vi phải là một dòng chữ"),
], ids=["aggregation", "weight", "group", "task-source", "code-not-sql-safe", "deadline-missing", "deadline-fifth-quarter",
        "year-label-blank", "headline-code-twice", "deadline-year-before", "deadline-before-quarter-end",
        "deadline-year-after", "deadline-day-and-month-swapped", "plausible-band-inverted", "comparison-units-differ",
        "status-key-misspelt", "top-level-key-misspelt", "weight-missing", "indicator-code-twice", "unit-blank"])
def test_a_broken_programme_is_refused_with_its_reason(tmp_path, change, reason):
    old, new = change
    assert old in GOOD
    path = tmp_path / "broken.toml"
    path.write_text(GOOD.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ProgrammeError, match=reason):
        load_programme(path)


def test_a_year_without_programme_is_a_clear_error():
    with pytest.raises(ProgrammeError, match="không có tệp chương trình báo cáo cho năm 2031"):
        programme_for_year(2031)


def test_a_year_without_programme_names_the_years_the_files_state(tmp_path):
    """A 2024 file saying `year = 2025` is why 2024 has none: the message shows it."""
    (tmp_path / "ctr135-2023.toml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "ctr135-2024.toml").write_text(
        GOOD.replace("year = 2023", "year = 2025").replace("CTr135-2023", "CTr135-2025")
        .replace("2024-01-10", "2026-01-10").replace("2023-", "2025-"), encoding="utf-8")
    with pytest.raises(ProgrammeError, match=re.escape(
            "(các tệp có: ctr135-2023.toml ghi năm 2023, ctr135-2024.toml ghi năm 2025)")):
        programme_for_year(2024, tmp_path)


def test_a_year_without_programme_names_a_misdated_file_that_is_not_valid_for_its_year_either(tmp_path):
    """The helper's slip: only `year = 2025` typed in the 2024 file (its deadlines still 2024, so
    not a valid 2025 file): the message named 2023's file alone."""
    (tmp_path / "ctr135-2023.toml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "ctr135-2024.toml").write_text(GOOD.replace("year = 2023", "year = 2025"), encoding="utf-8")
    with pytest.raises(ProgrammeError, match=re.escape(
            "(các tệp có: ctr135-2023.toml ghi năm 2023, ctr135-2024.toml ghi năm 2025)")):
        programme_for_year(2024, tmp_path)


def test_the_registry_holds_the_demo_bloc_with_its_history():
    registry = load_registry()
    in_2023 = registry.in_force_on(dt.date(2023, 12, 31))
    assert 60 <= len(in_2023) <= 80
    assert {u.unit_group for u in in_2023} == {"agencies", "enterprises"}
    renamed = [v for v in registry.versions if v.unit_code == "DN023"]
    assert len(renamed) == 2 and renamed[0].name_vi != renamed[1].name_vi
    merged = registry.version_on("DN021", dt.date(2022, 6, 30))
    assert merged.successor_code == "DN022" and registry.version_on("DN021", dt.date(2023, 1, 1)) is None


def test_overlapping_unit_versions_are_refused(tmp_path):
    path = tmp_path / "units.csv"
    path.write_text(
        "unit_code,name_vi,unit_group,unit_type,valid_from,valid_to,successor_code\n"
        "CQ001,A,agencies,chi_bo_co_so,2020-01-01,2023-06-30,\n"
        "CQ001,B,agencies,chi_bo_co_so,2023-01-01,,\n",
        encoding="utf-8",
    )
    with pytest.raises(RegistryError, match=re.escape("dòng 2 và dòng 3 (CQ001): mã đơn vị trùng, thời gian hiệu lực chồng nhau")):
        load_registry(path)


def test_the_publication_section_names_who_issues_and_signs():
    pub = programme_for_year(2023).publication
    assert pub.issuer == "ĐẢNG ỦY KHỐI CƠ QUAN VÀ DOANH NGHIỆP TỈNH"
    assert pub.document_number.endswith("-BC/ĐUK")
    assert (pub.signer_on_behalf, pub.signer_title) == ("T/M BAN THƯỜNG VỤ", "BÍ THƯ")
    assert pub.recipients and pub.recipients[-1].startswith("Lưu")
    assert pub.quarterly_chart_indicator == "revenue_bn_vnd"


@pytest.mark.parametrize(("change", "reason"), [
    (('signer_name = ', 'singer_name = '), r"mục \[publication\]: không có trường 'singer_name' \(có phải là 'signer_name'\?\)"),
    (('quarterly_chart_indicator = ', 'quarterly_chart_indicater = '), "không có trường 'quarterly_chart_indicater'"),
    (('document_number = "125-BC/ĐUK"', 'document_number = ""'), "document_number không được để trống"),
    (('recipients = [', 'recipients = ["", '), "recipients phải có ít nhất một nơi nhận"),
    (('quarterly_chart_indicator = "revenue_bn_vnd"', 'quarterly_chart_indicator = "doanh_thu"'), "không có chỉ tiêu 'doanh_thu'"),
], ids=["signer-misspelt", "chart-key-misspelt", "number-empty", "recipient-empty", "chart-indicator"])
def test_a_broken_publication_section_is_refused(tmp_path, change, reason):
    old, new = change
    assert old in GOOD
    path = tmp_path / "broken.toml"
    path.write_text(GOOD.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ProgrammeError, match=reason):
        load_programme(path)


@pytest.mark.parametrize(("text", "reason"), [
    ("this is = not [valid", "không phải tệp TOML hợp lệ (lỗi cú pháp ở dòng 1, cột 6"),
    (b"code = \"ctr\xe9\"", "không phải tệp TOML hợp lệ (tệp không được lưu ở mã UTF-8)"),
], ids=["syntax", "not-utf8"])
def test_a_programme_file_that_is_not_toml_is_refused_in_vietnamese(tmp_path, text, reason):
    path = tmp_path / "broken.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ProgrammeError, match=re.escape(reason)):
        load_programme(path)


@pytest.mark.parametrize(("change", "reason"), [
    (('aggregation = "sum"\nhas_plan = true\ndecimals = 0', 'aggregation = "sum"\nhas_plan = true\ndecimals = "không"'),
     "chỉ tiêu thứ 2 (new_members_admitted): trường 'decimals' phải là một số nguyên, không phải \"không\""),
    (('year = 2023', 'year = "năm 2023"'), "trường 'year' phải là một số nguyên, không phải \"năm 2023\""),
    (('1 = 2023-04-10', '1 = "10/04/2023"'), "deadlines: hạn nộp quý 1 phải là một ngày dạng năm-tháng-ngày"),
    (('code = "inspections"', 'code = 5'), "chỉ tiêu thứ 6: trường 'code' phải là một dòng chữ"),
    (('has_plan = true\ndecimals = 0', 'has_plan = "false"\ndecimals = 0'),
     "chỉ tiêu thứ 2 (new_members_admitted): trường 'has_plan' phải là true hoặc false"),
    (('signed = true', 'signed = 1'), "chỉ tiêu thứ 12 (profit_bn_vnd): trường 'signed' phải là true hoặc false"),
    (('plausible_min = 3.0', 'plausible_min = "3"'), "chỉ tiêu thứ 15 (avg_income_m_vnd): trường 'plausible_min' phải là một số"),
    (('has_plan = true\ndecimals = 0', 'has_plans = true\ndecimals = 0'),
     "chỉ tiêu thứ 2 (new_members_admitted): không có trường 'has_plans' (có phải là 'has_plan'?)"),
    (('display_decimals = 1\nindicator = "revenue_bn_vnd"', 'display_decimal = 1\nindicator = "revenue_bn_vnd"'),
     "chỉ tiêu chính thứ 5 (revenue_bn_vnd): không có trường 'display_decimal'"),
    (('task_sources = ["ctr135"]', 'task_sources = "ctr135"'),
     "chỉ tiêu chính thứ 2 (key_tasks_ctr135): trường 'task_sources' phải là một danh sách"),
], ids=["decimals-text", "year-text", "deadline-text", "code-number", "has-plan-text",
        "signed-number", "plausible-text", "indicator-key-misspelt", "headline-key-misspelt", "task-sources-not-list"])
def test_a_value_of_the_wrong_kind_is_refused_naming_the_field_and_the_entry(tmp_path, change, reason):
    _refused(tmp_path, change, reason)


@pytest.mark.parametrize(("change", "reason"), [
    (('code = "inspections"\n', ''), "thiếu hoặc sai trường 'code' ở chỉ tiêu thứ 6"),
    (('label_vi = "Số cuộc kiểm tra"\n', ''), "thiếu hoặc sai trường 'label_vi' ở chỉ tiêu thứ 6 (inspections)"),
    (('label_vi = "Nộp bảo hiểm xã hội"\ndisplay_unit_vi', 'display_unit_vi'),
     "thiếu hoặc sai trường 'label_vi' ở chỉ tiêu chính thứ 8 (social_insurance_bn_vnd)"),
], ids=["indicator-code", "indicator-label", "headline-label"])
def test_a_missing_field_names_its_entry(tmp_path, change, reason):
    _refused(tmp_path, change, reason)


def _refused(tmp_path, change: tuple[str, str], reason: str) -> None:
    """The good file with one change is refused, saying `reason`."""
    old, new = change
    assert old in GOOD
    path = tmp_path / "broken.toml"
    path.write_text(GOOD.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ProgrammeError, match=re.escape(reason)):
        load_programme(path)


def test_a_programme_file_saved_with_a_byte_order_mark_is_read(tmp_path):
    """Windows Notepad starts a UTF-8 file with a BOM; the file is otherwise the good one."""
    path = tmp_path / "ctr135-2023.toml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode("utf-8"))
    assert load_programme(path).code == "CTr135-2023"


def test_indicators_written_as_one_table_are_refused_naming_the_double_brackets(tmp_path):
    """`[indicators]` (one bracket) makes one table, not the list of indicators: no 'string indices' message."""
    text = GOOD.replace("[[indicators]]", "[[other_indicators]]").replace("[[other_indicators]]", "[indicators]", 1)
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProgrammeError, match=re.escape("[indicators] phải viết là [[indicators]] (hai dấu ngoặc vuông)")):
        load_programme(path)


HALF_WRITTEN_2024 = GOOD.replace("year = 2023", "year = 2024").replace("CTr135-2023", "CTr135-2024")[:1500]


@pytest.mark.parametrize(("broken", "named_for_2024"), [
    (HALF_WRITTEN_2024, "không phải tệp TOML hợp lệ"),
    (GOOD.replace("year = 2023", "year = 2024").replace("CTr135-2023", "CTr135-2024").replace('decimals = 3', 'decimals = "ba"', 1),
     "trường 'decimals' phải là một số nguyên"),
    (GOOD.replace("year = 2023", 'year = "năm 2024"'), "tệp không đọc được năm báo cáo"),
], ids=["half-written", "wrong-type-year-readable", "year-unreadable"])
def test_a_broken_file_of_another_year_does_not_block_this_year(tmp_path, monkeypatch, broken, named_for_2024):
    (tmp_path / "ctr135-2023.toml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "ctr135-2024.toml").write_text(broken, encoding="utf-8")
    assert programme_for_year(2023, tmp_path).code == "CTr135-2023"
    with pytest.raises(ProgrammeError, match=named_for_2024) as refused:
        programme_for_year(2024, tmp_path)
    assert "ctr135-2024.toml" in str(refused.value) and "2023" not in str(refused.value).replace(str(tmp_path), "")
    monkeypatch.setenv("P135_PROGRAMMES_DIR", str(tmp_path))
    skipped = []
    assert [p.code for p in all_programmes(skipped)] == ["CTr135-2023"]
    assert len(skipped) == 1 and "ctr135-2024.toml" in skipped[0]


def test_a_broken_file_stating_the_year_asked_for_is_refused_even_beside_a_good_one(tmp_path):
    (tmp_path / "ctr135-2023.toml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "ctr135-2023-draft.toml").write_text(GOOD.replace("decimals = 3", "decimals = -1", 1), encoding="utf-8")
    with pytest.raises(ProgrammeError, match="ctr135-2023-draft.toml"):
        programme_for_year(2023, tmp_path)


REGISTRY = (PROGRAMMES_DIR / "units.csv").read_text(encoding="utf-8")


@pytest.mark.parametrize(("data", "reason"), [
    (REGISTRY.encode("utf-16"), "tệp được lưu ở mã UTF-16 (Unicode Text), không phải UTF-8; hãy lưu lại tệp dạng CSV UTF-8"),
    (unicodedata.normalize("NFD", REGISTRY).encode("cp1258", errors="replace"), "dòng 2: tệp không được lưu ở mã UTF-8"),
    (REGISTRY.replace(",", ";").encode(), "dòng 1: các cột được phân cách bằng dấu chấm phẩy (;)"),
    (("ma_don_vi" + REGISTRY[len("unit_code"):]).encode(), "dòng 1 (tiêu đề): thiếu cột unit_code; tiêu đề phải là unit_code,name_vi,"),
    (REGISTRY.replace("2020-01-01", "01/01/2020", 1).encode(),
     "dòng 2 (CQ001): ngày valid_from '01/01/2020' không đọc được; hãy ghi dạng năm-tháng-ngày"),
    (REGISTRY.replace(",agencies,", ",Khối cơ quan,", 1).encode(),
     "dòng 2 (CQ001): không có khối 'Khối cơ quan'; cột unit_group ghi agencies (khối cơ quan) hoặc enterprises"),
    (REGISTRY.replace(",chi_bo_co_so,", ",Chi bộ,", 1).encode(), "dòng 3 (CQ002): không có loại 'Chi bộ'; cột unit_type ghi"),
    ((REGISTRY + REGISTRY.splitlines()[5] + "\n").encode(), "dòng 6 và dòng {last} (CQ005): mã đơn vị trùng"),
    ((REGISTRY + REGISTRY.splitlines()[5].replace("CQ005", " cq005 ") + "\n").encode(), "dòng 6 và dòng {last} (CQ005): mã đơn vị trùng"),
    (REGISTRY.replace("2022-12-31,CQ001", "2022-12-31,CQ999").encode(), "(successor_code) CQ999 không có trong tệp"),
    (REGISTRY.replace("2022-12-31,CQ001", "2022-12-31,CQ049").encode(), "(CQ049): đơn vị không thể hợp nhất vào chính nó"),
    (REGISTRY.replace("2022-12-31,CQ001", "2022-12-31,CQ050").replace("2022-12-31,CQ007", "2022-06-30,CQ007").encode(),
     "(CQ049): đơn vị tiếp nhận CQ050 không còn hoạt động (hoặc chưa thành lập) vào ngày 01/01/2023"),
    (REGISTRY.replace("2022-12-31,CQ001", ",CQ001").encode(),
     "(CQ049): có đơn vị tiếp nhận CQ001 nhưng chưa có ngày kết thúc (valid_to)"),
    ((REGISTRY + "CQ900,Chi bộ mới,agencies\n").encode(), "dòng {last}: có 3 cột, cần đúng 7 cột"),
    (REGISTRY.replace("dang_bo_co_so,2020-01-01,,\nCQ004", "dang_bo_co_so,2020-01-01,2024-02-29,CQ048\nCQ004", 1)
     .replace("Quỹ Đầu tư phát triển tỉnh,agencies,chi_bo_co_so,2020-01-01,,", 
              "Quỹ Đầu tư phát triển tỉnh,agencies,chi_bo_co_so,2020-01-01,2024-02-29,CQ003", 1).encode(),
     "dòng 4, 49 (CQ003 → CQ048 → CQ003): các đơn vị hợp nhất vòng tròn vào nhau"),
    (REGISTRY.replace("CQ004,Chi bộ Sở Kế hoạch và Đầu tư,", "CQ004, ,", 1).encode(), "dòng 5 (CQ004): thiếu tên đơn vị (name_vi)"),
], ids=["utf16", "cp1258", "semicolon", "header-translated", "date-dd-mm-yyyy", "group-in-vietnamese", "type-in-vietnamese",
        "code-twice", "code-twice-lower-case", "successor-unknown", "successor-itself", "successor-ended", "successor-without-end",
        "row-short", "merger-ring", "name-empty"])
def test_a_broken_registry_is_refused_in_vietnamese_naming_the_line(tmp_path, data, reason):
    assert "2022-12-31,CQ001" in REGISTRY
    path = tmp_path / "units.csv"
    path.write_bytes(data)
    reason = reason.replace("{last}", str(len(REGISTRY.splitlines()) + 1))
    with pytest.raises(RegistryError, match=re.escape(f"{path}: ")) as refused:
        load_registry(path)
    assert reason in str(refused.value)


def test_registry_codes_are_trimmed_and_upper_cased_and_empty_rows_skipped(tmp_path):
    """` cq003 ` is CQ003, not a new unit; `,,,,,,` (a spreadsheet's empty row) and a space after a date pass."""
    lines = REGISTRY.splitlines()
    lines[3] = lines[3].replace("CQ003,", " cq003 ,")
    lines[4] = lines[4].replace("2020-01-01,", "2020-01-01 ,")
    path = tmp_path / "units.csv"
    path.write_text("\n".join(lines[:10] + [",,,,,,"] + lines[10:]) + "\n", encoding="utf-8")
    registry = load_registry(path)
    assert {v.unit_code for v in registry.versions} == {v.unit_code for v in load_registry().versions}
    assert registry.version_on("CQ003", dt.date(2023, 1, 1)).name_vi == "Đảng bộ Sở Tài chính"


COPIED_FOR_2024 = GOOD.replace("year = 2023", "year = 2024").replace("2024-01-10", "2025-01-10") \
    .replace("2023-04-10", "2024-04-10").replace("2023-07-10", "2024-07-10").replace("2023-10-10", "2024-10-10")


@pytest.mark.parametrize(("copied", "reason"), [
    (COPIED_FOR_2024.replace('template_version = "CTr135-2023.v2"', 'template_version = "CTr135-2024.v1"')
     .replace('accepted_template_versions = ["CTr135-2023.v2"]', 'accepted_template_versions = ["CTr135-2024.v1"]'),
     "mã chương trình (code) 'CTr135-2023' đã là mã của chương trình năm 2023 (tệp ctr135-2023.toml); "
     "mỗi năm cần một mã riêng, ví dụ 'CTr135-2024'"),
    (COPIED_FOR_2024.replace('code = "CTr135-2023"', 'code = "CTr135-2024"'),
     "phiên bản mẫu 'CTr135-2023.v2' đã là mẫu của năm 2023 (tệp ctr135-2023.toml)"),
], ids=["same-code", "same-template-version"])
def test_a_file_copied_for_a_new_year_must_have_its_own_code_and_template_version(tmp_path, monkeypatch, copied, reason):
    """The warehouse keeps one programme per code: a 2024 file with 2023's code would move 2023's
    indicators and headline to 2024. The earlier year keeps working; the copy is refused."""
    (tmp_path / "ctr135-2023.toml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "ctr135-2024.toml").write_text(copied, encoding="utf-8")
    assert load_programme(tmp_path / "ctr135-2024.toml").year == 2024, "the file alone is well formed"
    assert programme_for_year(2023, tmp_path).code == "CTr135-2023"
    with pytest.raises(ProgrammeError, match=re.escape(reason)) as refused:
        programme_for_year(2024, tmp_path)
    assert "ctr135-2024.toml" in str(refused.value)
    monkeypatch.setenv("P135_PROGRAMMES_DIR", str(tmp_path))
    skipped = []
    assert [p.year for p in all_programmes(skipped)] == [2023]
    assert len(skipped) == 1 and reason in skipped[0]


def test_a_new_years_file_with_its_own_code_and_template_is_used_beside_the_old_one(tmp_path):
    (tmp_path / "ctr135-2023.toml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "ctr135-2024.toml").write_text(COPIED_FOR_2024.replace("CTr135-2023", "CTr135-2024"), encoding="utf-8")
    assert programme_for_year(2024, tmp_path).code == "CTr135-2024"
    assert programme_for_year(2023, tmp_path).code == "CTr135-2023"


def test_two_files_for_one_year_are_refused_naming_both(tmp_path):
    (tmp_path / "ctr135-2023.toml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "ctr135-2023-ban-sao.toml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(ProgrammeError, match=r"\(ctr135-2023-ban-sao.toml, ctr135-2023.toml\); hãy giữ một tệp"):
        programme_for_year(2023, tmp_path)
