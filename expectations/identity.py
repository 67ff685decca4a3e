"""Identity of a submission: the right template, programme, period and a unit in force."""

from __future__ import annotations

import datetime as dt

import great_expectations as gx
import great_expectations.expectations as gxe

from expectations.runner import NULL, rule, rules_by_value
from reporting import layout as L
from reporting.identity import VALID
from reporting.periods import Period
from reporting.programme import Programme

INDEX_COLUMNS = [
    "submission_id", "successor_shown", "ended_shown", "merged_on_shown", "period_shown", "unit_code", "unit_name", "issued_unit_code", "issued_unit_shown",
    "name_owner_shown", "code_owner_shown",
] + [f"{f.key}_cell" for f in L.INFO_FIELDS]
REQUIRED = ("template_version", "programme_code", "unit_code", "year", "quarter")
# Each required field is checked in one expectation with what it must hold, on `<field>_or_null`
# (runner.with_nulls_as_value); the rules are reported in this order.
RULE_ORDER = [f"identity.{field}_missing" for field in REQUIRED] + [
    "identity.template_version", "identity.programme", "identity.period_year", "identity.period_quarter",
    "identity.unit_known", "identity.unit_ended", "identity.unit_merged", "identity.template_missing", "identity.unit_code_changed",
    "identity.unit_name_other_unit", "info.reported_on_not_date", "info.reported_on_future", "info.reported_on_early",
    "info.phone_invalid",
]
# What the contact fields were found to hold (gate._contact_states): "ok" for a blank field too, as
# the clerk may leave them (the office then reads the unit's contact from the registry).
OK = "ok"


def build_suite(
    programme: Programme, period: Period, unknown_codes: list[str], merged_codes: list[str],
    today: dt.date | None = None, ended_codes: list[str] = (),
) -> gx.ExpectationSuite:
    """Checks on the info sheet and the template's identity: `unknown_codes` are the unit codes
    typed in the batch that are neither in force at the period's end nor merged away before it
    (the few a batch holds, not every code of a national registry: 60,000 codes in an
    expectation's configuration cost more than the whole check); `merged_codes` were merged
    into another unit before it; `ended_codes` ended before it without a successor (dissolved);
    `today` is the day a report date may not be after."""
    sheet = L.SHEET_INFO
    today = today or dt.date.today()

    def missing(field: str) -> tuple[list, str, str]:
        return ([NULL], f"identity.{field}_missing",
                f'Ô {{cell}} ("{L.INFO[field].label_vi}") đang để trống. '
                "Hãy dùng đúng tệp mẫu đã được cấp, không xóa thông tin điền sẵn.")

    def one_of(field: str, allowed: list, rule_id: str, message_vi: str):
        """The field is filled and one of `allowed`: one expectation on `<field>_or_null`."""
        return rules_by_value(
            gxe.ExpectColumnValuesToBeInSet, column=f"{field}_or_null", value_set=allowed,
            sheet=sheet, cell_column=f"{field}_cell", value_column=field,
            cases=[missing(field), (None, rule_id, message_vi)],
        )

    expectations = [
        one_of(
            "template_version", list(programme.accepted_template_versions), "identity.template_version",
            "Phiên bản mẫu biểu ở ô {cell} là \"{value}\", không phải mẫu đang dùng "
            f"({programme.template_version}). Hãy tải mẫu {period.label_vi} và nhập lại số liệu.",
        ),
        one_of(
            "programme_code", [programme.code], "identity.programme",
            "Ô {cell} ghi chương trình \"{value}\", nhưng báo cáo này thuộc "
            f"{programme.code}. Hãy dùng đúng tệp mẫu đã được cấp.",
        ),
        one_of(
            "year", [period.year], "identity.period_year",
            "Tệp là mẫu báo cáo năm {value} (ô {cell}), nhưng được nộp cho "
            f"{period.label_vi}. Hãy nhập số liệu vào mẫu của {period.label_vi}; sửa ô {{cell}} không đổi "
            "được kỳ của mẫu đã cấp.",
        ),
        one_of(
            "quarter", [period.quarter], "identity.period_quarter",
            "Tệp là mẫu báo cáo {period_shown} (ô {cell}), nhưng được nộp cho "
            f"{period.label_vi}. Hãy nhập số liệu vào mẫu của {period.label_vi}; sửa ô {{cell}} không đổi "
            "được kỳ của mẫu đã cấp.",
        ),
        rules_by_value(
            gxe.ExpectColumnValuesToNotBeInSet, column="unit_code_or_null",
            sheet=sheet, cell_column="unit_code_cell", value_column="unit_code",
            cases=[
                missing("unit_code"),
                (sorted(unknown_codes, key=str) or ["-"], "identity.unit_known",
                 "Mã đơn vị \"{value}\" ở ô {cell} không có trong danh sách đơn vị đang "
                 f"hoạt động {period.label_vi}. Hãy dùng đúng tệp mẫu của đơn vị mình."),
                (sorted(ended_codes) or ["-"], "identity.unit_ended",
                 "Đơn vị \"{value}\" (ô {cell}) đã thôi hoạt động theo danh sách đơn vị (ngày hoạt động cuối cùng "
                 f"{{ended_shown}}), nên không phải nộp báo cáo {period.label_vi}; không cần sửa hay gửi lại tệp. "
                 "Nếu đơn vị vẫn hoạt động, hãy liên hệ văn phòng Đảng ủy Khối để cập nhật danh sách đơn vị."),
                (sorted(merged_codes) or ["-"], "identity.unit_merged",
                 "Đơn vị \"{value}\" (ô {cell}) đã hợp nhất vào {successor_shown} từ ngày {merged_on_shown}, nên không "
                 f"còn báo cáo riêng {period.label_vi}: số liệu của đơn vị nằm trong báo cáo của {{successor_shown}}, "
                 "dùng mẫu đã cấp cho đơn vị đó."),
            ],
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
        rules_by_value(
            gxe.ExpectColumnValuesToBeInSet, column="reported_on_state", value_set=[OK], severity="warning",
            sheet=sheet, cell_column="reported_on_cell", value_column="reported_on",
            cases=[
                (["not_date"], "info.reported_on_not_date",
                 f'Ô {{cell}} ("{L.INFO["reported_on"].label_vi}") ghi "{{value}}", không phải là ngày. '
                 "Nhập ngày dạng dd/mm/yyyy."),
                (["future"], "info.reported_on_future",
                 f"Ngày lập báo cáo ở ô {{cell}} là {{value}}, sau ngày hôm nay ({today:%d/%m/%Y}). "
                 "Hãy ghi đúng ngày lập báo cáo."),
                (["early"], "info.reported_on_early",
                 f"Ngày lập báo cáo ở ô {{cell}} là {{value}}, trước khi {period.label_vi} bắt đầu "
                 f"({period.starts_on:%d/%m/%Y}). Hãy ghi đúng ngày lập báo cáo (có thể đang ghi ngày "
                 "của báo cáo kỳ trước)."),
            ],
        ),
        rules_by_value(
            gxe.ExpectColumnValuesToBeInSet, column="phone_state", value_set=[OK], severity="warning",
            sheet=sheet, cell_column="phone_cell", value_column="phone",
            cases=[(["invalid"], "info.phone_invalid",
                    f'Ô {{cell}} ("{L.INFO["phone"].label_vi}") ghi "{{value}}", không giống một số điện thoại '
                    "(ví dụ 0912 345 678). Hãy ghi số điện thoại để Văn phòng Đảng ủy Khối liên hệ khi cần.")],
        ),
    ]
    return gx.ExpectationSuite(name="identity", expectations=expectations, meta={"rule_order": RULE_ORDER})
