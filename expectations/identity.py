"""Identity of a submission: the right template, programme, period and a unit in force."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from expectations.runner import rule
from reporting import layout as L
from reporting.identity import VALID
from reporting.periods import Period
from reporting.programme import Programme

INDEX_COLUMNS = [
    "submission_id", "successor_shown", "unit_code", "unit_name", "issued_unit_code", "issued_unit_shown",
    "name_owner_shown", "code_owner_shown",
] + [f"{f.key}_cell" for f in L.INFO_FIELDS]
REQUIRED = ("template_version", "programme_code", "unit_code", "year", "quarter")


def build_suite(
    programme: Programme, period: Period, unknown_codes: list[str], merged_codes: list[str]
) -> gx.ExpectationSuite:
    """Checks on the info sheet and the template's identity: `unknown_codes` are the unit codes
    typed in the batch that are neither in force at the period's end nor merged away before it
    (the few a batch holds, not every code of a national registry: 60,000 codes in an
    expectation's configuration cost more than the whole check); `merged_codes` were merged
    into another unit before it."""
    sheet = L.SHEET_INFO
    expectations = [
        rule(
            gxe.ExpectColumnValuesToNotBeNull, column=field, rule_id=f"identity.{field}_missing",
            sheet=sheet, cell_column=f"{field}_cell",
            message_vi=f'Ô {{cell}} ("{L.INFO[field].label_vi}") đang để trống. '
            "Hãy dùng đúng tệp mẫu đã được cấp, không xóa thông tin điền sẵn.",
        )
        for field in REQUIRED
    ]
    expectations += [
        rule(
            gxe.ExpectColumnValuesToBeInSet, column="template_version",
            value_set=list(programme.accepted_template_versions),
            rule_id="identity.template_version", sheet=sheet, cell_column="template_version_cell",
            message_vi="Phiên bản mẫu biểu ở ô {cell} là \"{value}\", không phải mẫu đang dùng "
            f"({programme.template_version}). Hãy tải mẫu {period.label_vi} và nhập lại số liệu.",
        ),
        rule(
            gxe.ExpectColumnValuesToBeInSet, column="programme_code", value_set=[programme.code],
            rule_id="identity.programme", sheet=sheet, cell_column="programme_code_cell",
            message_vi="Ô {cell} ghi chương trình \"{value}\", nhưng báo cáo này thuộc "
            f"{programme.code}. Hãy dùng đúng tệp mẫu đã được cấp.",
        ),
        rule(
            gxe.ExpectColumnValuesToBeInSet, column="year", value_set=[period.year],
            rule_id="identity.period_year", sheet=sheet, cell_column="year_cell",
            message_vi="Năm báo cáo ở ô {cell} là {value}, nhưng tệp được nộp cho "
            f"{period.label_vi}. Hãy dùng mẫu của {period.label_vi}.",
        ),
        rule(
            gxe.ExpectColumnValuesToBeInSet, column="quarter", value_set=[period.quarter],
            rule_id="identity.period_quarter", sheet=sheet, cell_column="quarter_cell",
            message_vi="Quý báo cáo ở ô {cell} là {value}, nhưng tệp được nộp cho "
            f"{period.label_vi}. Hãy dùng mẫu của {period.label_vi}.",
        ),
        rule(
            gxe.ExpectColumnValuesToNotBeInSet, column="unit_code", value_set=sorted(unknown_codes, key=str) or ["-"],
            rule_id="identity.unit_known", sheet=sheet, cell_column="unit_code_cell",
            message_vi="Mã đơn vị \"{value}\" ở ô {cell} không có trong danh sách đơn vị đang "
            f"hoạt động {period.label_vi}. Hãy dùng đúng tệp mẫu của đơn vị mình.",
        ),
        rule(
            gxe.ExpectColumnValuesToNotBeInSet, column="unit_code", value_set=sorted(merged_codes) or ["-"],
            rule_id="identity.unit_merged", sheet=sheet, cell_column="unit_code_cell",
            message_vi="Đơn vị \"{value}\" (ô {cell}) đã hợp nhất vào {successor_shown} trước "
            f"{period.label_vi}. Báo cáo của đơn vị sau hợp nhất dùng mẫu của {{successor_shown}}.",
        ),
        rule(
            gxe.ExpectColumnValuesToBeInSet, column="identity", value_set=[VALID],
            rule_id="identity.template_missing", sheet=None, cell_column=None, shows_value=False,
            message_vi="Tệp không mang phần nhận diện của mẫu báo cáo đã cấp cho đơn vị (tệp tự lập, "
            "mẫu cũ, hoặc phần nhận diện của mẫu đã bị sửa), nên không xác định được tệp là của đơn vị "
            f"nào. Hãy nhập số liệu vào đúng tệp mẫu {period.label_vi} đã được cấp cho đơn vị mình "
            "(xin cấp lại nếu không còn) và gửi lại.",
        ),
        rule(
            gxe.ExpectColumnValuesToNotBeInSet, column="unit_code_agrees", value_set=[False],
            rule_id="identity.unit_code_changed", sheet=sheet, cell_column="unit_code_cell",
            value_column="unit_code",
            message_vi="Mẫu báo cáo này được cấp cho đơn vị {issued_unit_shown}, nhưng mã đơn vị ở ô "
            "{cell} đã bị sửa thành \"{value}\". Tệp được ghi nhận là báo cáo của {issued_unit_shown} "
            "và bị từ chối. Nếu đúng là báo cáo của đơn vị này, trả lại mã \"{issued_unit_code}\" rồi "
            "gửi lại; báo cáo của đơn vị khác phải dùng mẫu đã cấp cho đơn vị đó.",
        ),
        rule(
            gxe.ExpectColumnValuesToNotBeInSet, column="name_of_other_unit", value_set=[True],
            rule_id="identity.unit_name_other_unit", sheet=sheet, cell_column="unit_name_cell",
            value_column="unit_name",
            message_vi="Tên đơn vị ở ô {cell} (\"{value}\") là tên của {name_owner_shown}, còn mã đơn vị "
            f"ở ô {L.INFO['unit_code'].cell} (\"{{unit_code}}\") là của {{code_owner_shown}}. Mã và tên phải của cùng một đơn vị: "
            "hãy dùng đúng tệp mẫu đã được cấp cho đơn vị mình.",
        ),
    ]
    return gx.ExpectationSuite(name="identity", expectations=expectations)
