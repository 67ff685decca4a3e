"""Indicator values: present, numbers, not negative where they cannot be, plans where due."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.expectations.row_conditions import Column

from expectations.runner import rule
from tasks import layout as L
from tasks.programme import Programme

INDEX_COLUMNS = [
    "submission_id", "row", "indicator_code", "indicator_code_cell", "label",
    "value_cell", "value_text", "plan_cell", "plan_text",
]


def build_suite(programme: Programme) -> gx.ExpectationSuite:
    """Checks on the indicator sheet; the frame carries each row's programme attributes."""
    sheet = L.SHEET_INDICATORS
    codes = [i.code for i in programme.indicators]
    return gx.ExpectationSuite(name="indicators", expectations=[
        rule(
            gxe.ExpectColumnValuesToBeInSet, column="indicator_code", value_set=codes,
            rule_id="indicator.code_known", sheet=sheet, cell_column="indicator_code_cell",
            message_vi="Mã chỉ tiêu \"{value}\" ở ô {cell} không có trong chương trình. "
            "Không sửa cột mã chỉ tiêu; hãy dùng đúng tệp mẫu đã được cấp.",
        ),
        rule(
            gxe.ExpectColumnValuesToBeInSet, column="is_expected", value_set=[True],
            rule_id="indicator.not_for_group", sheet=sheet, cell_column="indicator_code_cell",
            value_column="indicator_code",
            message_vi="Chỉ tiêu \"{indicator_code}\" ở ô {cell} không thuộc khối của đơn vị. "
            "Hãy dùng đúng tệp mẫu của đơn vị mình.",
        ),
        rule(
            gxe.ExpectColumnValuesToNotBeInSet, column="value_kind", value_set=["missing"],
            rule_id="indicator.value_missing", sheet=sheet, cell_column="value_cell",
            value_column="value_text",
            message_vi="Ô {cell} (\"{label}\") chưa có số liệu. Nhập số thực hiện trong quý; "
            "nhập 0 nếu không phát sinh.",
        ),
        rule(
            gxe.ExpectColumnValuesToNotBeInSet, column="value_kind", value_set=["text"],
            rule_id="indicator.value_not_number", sheet=sheet, cell_column="value_cell",
            value_column="value_text",
            message_vi="Ô {cell} (\"{label}\") có giá trị \"{value}\", không phải là số. "
            "Chỉ nhập số, không kèm chữ hay đơn vị tính.",
        ),
        rule(
            gxe.ExpectColumnValuesToBeBetween, column="value", min_value=0,
            row_condition=Column("is_signed") == False,  # noqa: E712 (a GX condition, not a test)
            rule_id="indicator.value_negative", sheet=sheet, cell_column="value_cell",
            message_vi="Ô {cell} (\"{label}\") có giá trị âm ({value}). Số liệu này không thể âm.",
        ),
        rule(
            gxe.ExpectColumnValuesToNotBeInSet, column="plan_kind", value_set=["missing"],
            row_condition=Column("has_plan") == True,  # noqa: E712
            rule_id="indicator.plan_missing", sheet=sheet, cell_column="plan_cell",
            value_column="plan_text",
            message_vi="Ô {cell}: chỉ tiêu \"{label}\" cần có kế hoạch năm. "
            "Nhập kế hoạch cả năm của đơn vị.",
        ),
        rule(
            gxe.ExpectColumnValuesToNotBeInSet, column="plan_kind", value_set=["text"],
            rule_id="indicator.plan_not_number", sheet=sheet, cell_column="plan_cell",
            value_column="plan_text",
            message_vi="Ô {cell} (kế hoạch của \"{label}\") có giá trị \"{value}\", không phải "
            "là số. Chỉ nhập số, không kèm chữ hay đơn vị tính.",
        ),
        rule(
            gxe.ExpectColumnValuesToBeBetween, column="plan", min_value=0,
            row_condition=Column("is_signed") == False,  # noqa: E712
            rule_id="indicator.plan_negative", sheet=sheet, cell_column="plan_cell",
            message_vi="Ô {cell} (kế hoạch của \"{label}\") có giá trị âm ({value}).",
        ),
    ])
