"""Indicator values: present, numbers (read the Vietnamese way), consistent, plausible."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.expectations.row_conditions import Column

from expectations.runner import rule, rules_by_value
from reporting import layout as L
from reporting.programme import Programme

INDEX_COLUMNS = [
    "submission_id", "row", "indicator_code", "indicator_code_cell", "label", "value", "ytd",
    "value_cell", "value_text", "value_readings", "ytd_cell", "ytd_text", "ytd_readings",
    "plan_cell", "plan_text", "plan_readings", "band_shown", "previous_shown", "change_shown", "slip_shown", "slip_times", "value_read_as", "ytd_read_as",
    "plan", "plan_change_shown", "plan_previous_shown",
    "decimals_shown", "unit_vi",
]
COMPARISON_INDEX_COLUMNS = [
    "submission_id", "comparison", "left_cell", "left_label", "left_value", "right_label", "right_value",
]
SHEET = L.SHEET_INDICATORS


def _typed(column: str, what: str) -> list:
    """Missing, not a number, ambiguous, too many decimals, negative: the ways a number cell goes wrong.

    The frame carries the rows' conditions already applied (`<column>_kind_due`, null where the
    indicator has no such cell; `<column>_unsigned`, null where it may be negative): a row
    condition makes Great Expectations copy the frame for each expectation.
    """
    label = {"value": '"{label}"', "ytd": 'lũy kế của "{label}"', "plan": 'kế hoạch của "{label}"'}[column]
    return [
        rules_by_value(
            gxe.ExpectColumnValuesToNotBeInSet, column=f"{column}_kind" if column == "value" else f"{column}_kind_due",
            sheet=SHEET, cell_column=f"{column}_cell", value_column=f"{column}_text",
            cases=[
                (["missing"], f"indicator.{what}_missing",
                 f"Ô {{cell}} ({label}) chưa có số liệu. "
                 + ("Nhập số thực hiện trong quý; nhập 0 nếu không phát sinh." if column == "value"
                    else "Nhập lũy kế từ đầu năm đến hết quý này." if column == "ytd"
                    else "Nhập kế hoạch cả năm của đơn vị.")),
                (["text"], f"indicator.{what}_not_number",
                 f"Ô {{cell}} ({label}) có giá trị \"{{value}}\", không phải là số. "
                 "Chỉ nhập số, không kèm chữ hay đơn vị tính"
                 + ("; không phát sinh thì nhập 0 (không gõ \"-\" hay \"không\" thay cho số 0)." if column != "plan"
                    else "; kế hoạch nhập theo đơn vị tính của chỉ tiêu ({unit_vi}), không nhập dạng phần trăm.")),
                (["ambiguous"], f"indicator.{what}_ambiguous",
                 f"Ô {{cell}} ({label}) ghi \"{{value}}\" dạng chữ, không phải số, nên không rõ là "
                 f"{{{column}_readings}}. Hãy nhập lại ô này thành số (ô định dạng số, không phải chữ), "
                 "không gõ dấu phân cách hàng nghìn."),
                (["too_large"], f"indicator.{what}_too_large",
                 f"Ô {{cell}} ({label}) có giá trị {{value}}, quá lớn để là số liệu của một đơn vị. "
                 "Kiểm tra lại số chữ số và đơn vị tính ({unit_vi}) rồi nhập lại."),
                (["fraction"], f"indicator.{what}_too_many_decimals",
                 f"Ô {{cell}} ({label}) có giá trị {{value}}, nhưng chỉ tiêu này {{decimals_shown}}. "
                 "Hãy nhập lại số liệu (làm tròn nếu là số tính ra)."),
            ],
        ),
        rule(
            gxe.ExpectColumnValuesToBeBetween, column=f"{column}_unsigned", min_value=0,
            rule_id=f"indicator.{what}_negative", sheet=SHEET, cell_column=f"{column}_cell", value_column=column,
            message_vi=f"Ô {{cell}} ({label}) có giá trị âm ({{value}}). Số liệu này không thể âm.",
        ),
    ]


def build_suite(programme: Programme) -> gx.ExpectationSuite:
    """Checks on the indicator sheet; the frame carries each row's programme attributes."""
    codes = [i.code for i in programme.indicators]
    expectations = [
        rule(
            gxe.ExpectColumnValuesToBeInSet, column="indicator_code", value_set=codes,
            rule_id="indicator.code_known", sheet=SHEET, cell_column="indicator_code_cell",
            message_vi="Mã chỉ tiêu \"{value}\" ở ô {cell} không có trong chương trình. "
            "Không sửa cột mã chỉ tiêu; hãy dùng đúng tệp mẫu đã được cấp.",
        ),
        rule(
            gxe.ExpectColumnValuesToBeInSet, column="is_expected", value_set=[True],
            rule_id="indicator.not_for_group", sheet=SHEET, cell_column="indicator_code_cell",
            value_column="indicator_code",
            message_vi="Chỉ tiêu \"{indicator_code}\" ở ô {cell} không thuộc khối của đơn vị. "
            "Hãy dùng đúng tệp mẫu của đơn vị mình.",
        ),
        *_typed("value", "value"),
        *_typed("ytd", "ytd"),
        *_typed("plan", "plan"),
        rule(
            # `ytd_compared` is the year-to-date where it is compared: the indicator has one, cannot be
            # negative, and it is not (a negative year-to-date is its own error), else null.
            gxe.ExpectColumnPairValuesAToBeGreaterThanB, column_A="ytd_compared", column_B="value", or_equal=True,
            ignore_row_if="either_value_is_missing",
            rule_id="indicator.ytd_below_quarter", sheet=SHEET, cell_column="ytd_cell", value_column="ytd",
            message_vi="Ô {cell}: lũy kế từ đầu năm của \"{label}\" ({value}) nhỏ hơn số thực hiện "
            "trong quý. Lũy kế phải gồm cả quý này.",
        ),
        rule(
            gxe.ExpectColumnValuesToNotBeInSet, column="in_band", value_set=[False],
            rule_id="plausibility.out_of_band", sheet=SHEET, cell_column="value_cell", value_column="value",
            severity="warning",
            message_vi="Ô {cell} (\"{label}\") = {value}, ngoài khoảng thường gặp ({band_shown}). "
            "Đề nghị kiểm tra lại; nếu số liệu đúng thì giữ nguyên.",
        ),
        rule(
            gxe.ExpectColumnValuesToNotBeInSet, column="plan_in_band", value_set=[False],
            # An error, not a warning: one unit's plan moves the bloc's plan and every % of plan.
            rule_id="plausibility.plan_out_of_band", sheet=SHEET, cell_column="plan_cell", value_column="plan",
            message_vi="Ô {cell} (kế hoạch của \"{label}\") = {value}, ngoài khoảng thường gặp ({band_shown}). "
            "Kế hoạch nhập theo đơn vị tính của chỉ tiêu ({unit_vi}), không nhập dạng phần trăm (105% là 1,05). "
            "Hãy nhập lại cho đúng. Nếu kế hoạch thực sự là {value}, hãy liên hệ văn phòng Đảng ủy Khối trước khi gửi lại.",
        ),
        rule(
            gxe.ExpectColumnValuesToNotBeInSet, column="plan_change_ok", value_set=[False],
            rule_id="plausibility.plan_change_vs_previous", sheet=SHEET, cell_column="plan_cell", value_column="plan",
            severity="warning",
            message_vi="Ô {cell} (kế hoạch của \"{label}\") = {value}, {plan_change_shown} kế hoạch năm đã báo cáo "
            "quý trước ({plan_previous_shown}). Kế hoạch nhập theo đơn vị tính của chỉ tiêu ({unit_vi}), không nhập "
            "dạng phần trăm. Đề nghị kiểm tra lại; nếu đơn vị đã điều chỉnh kế hoạch thì giữ nguyên.",
        ),
        *(rule(
            gxe.ExpectColumnValuesToBeNull, column=f"{column}_read_as",
            rule_id=f"indicator.{column}_read_by_context", sheet=SHEET, cell_column=f"{column}_cell",
            value_column=f"{column}_text", severity="warning",
            message_vi=f"Ô {{cell}} ({label}) ghi \"{{value}}\" dạng chữ, có hai cách hiểu; đã được đọc là "
            f"{{{column}_read_as}}, cách hiểu duy nhất hợp với {why}. Nếu không đúng, hãy sửa thành số rồi gửi lại.",
        ) for column, label, why in (
            ("value", '"{label}"', "quý trước và khoảng thường gặp"),
            ("ytd", 'lũy kế của "{label}"', "lũy kế quý trước cộng số trong quý"),
        )),
        rule(
            gxe.ExpectColumnValuesToNotBeInSet, column="separator_slip", value_set=[True],
            rule_id="plausibility.separator_slip", sheet=SHEET, cell_column="value_cell", value_column="value",
            message_vi="Ô {cell} (\"{label}\") = {value}, gấp khoảng {slip_times} lần quý trước ({previous_shown}): "
            "rất có thể số đúng là {slip_shown} {unit_vi}, nhưng đã nhập theo một đơn vị nhỏ hơn đơn vị tính của ô (ví dụ "
            "triệu đồng thay cho tỷ đồng, đồng thay cho triệu đồng) hoặc dấu phẩy thập phân đã bị hiểu là dấu phân cách "
            "hàng nghìn (máy tính đặt kiểu số tiếng Anh). Hãy nhập lại cho đúng. Nếu số liệu thực sự là {value}, hãy liên hệ văn phòng Đảng ủy Khối "
            "trước khi gửi lại.",
        ),
        rule(
            gxe.ExpectColumnValuesToNotBeInSet, column="change_ok", value_set=[False],
            rule_id="plausibility.change_vs_previous", sheet=SHEET, cell_column="value_cell", value_column="value",
            severity="warning",
            message_vi="Ô {cell} (\"{label}\") = {value}, {change_shown} so với quý trước ({previous_shown}). "
            "Đề nghị kiểm tra lại; nếu số liệu đúng thì giữ nguyên.",
        ),
    ]
    return gx.ExpectationSuite(name="indicators", expectations=expectations)


def build_comparison_suite(programme: Programme) -> gx.ExpectationSuite:
    """One indicator must not exceed another in the same submission (budget paid <= revenue)."""
    return gx.ExpectationSuite(name="comparisons", expectations=[
        rule(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB, column_A="right_value", column_B="left_value",
            or_equal=True, ignore_row_if="either_value_is_missing",
            row_condition=Column("comparison") == f"{c.indicator}<={c.at_most}",
            rule_id=f"plausibility.{c.indicator}_at_most_{c.at_most}", sheet=SHEET,
            cell_column="left_cell", value_column="left_value",
            severity="critical" if c.severity == "error" else "warning",
            message_vi="Ô {cell}: \"{left_label}\" ({value}) lớn hơn \"{right_label}\" ({right_value}). "
            "Đề nghị kiểm tra lại.",
        )
        for c in programme.comparisons
    ])
