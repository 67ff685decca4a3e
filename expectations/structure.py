"""Structure: the template's headers and locked cells are as handed out."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from expectations.runner import rule

INDEX_COLUMNS = ["submission_id", "kind", "sheet", "cell", "found", "expected", "found_shown", "expected_shown"]
KINDS = ("header", "locked", "unit_name")


def build_suite() -> gx.ExpectationSuite:
    """Checks on a frame of (kind, sheet, cell, found, expected) cells the clerk must not change;
    `found_shown` and `expected_shown` are the same values as a clerk reads them."""
    def changed(kind: str, rule_id: str, message_vi: str, severity: str = "critical"):
        # `found_<kind>` and `expected_<kind>` are the cells of that kind, and equal ("") on the other
        # rows: a row condition would make Great Expectations copy the frame for each expectation.
        return rule(
            gxe.ExpectColumnPairValuesToBeEqual, column_A=f"found_{kind}", column_B=f"expected_{kind}",
            ignore_row_if="neither",
            rule_id=rule_id, sheet="", sheet_column="sheet", cell_column="cell", value_column="found_shown",
            message_vi=message_vi, severity=severity,
        )

    return gx.ExpectationSuite(name="structure", expectations=[
        changed(
            "header", "structure.header_changed",
            'Tiêu đề cột ở ô {cell} (sheet "{sheet}") là "{value}", mẫu ghi "{expected_shown}". '
            "Không sửa, thêm hay xóa cột; hãy dùng đúng tệp mẫu đã được cấp.",
        ),
        changed(
            "locked", "structure.locked_cell_changed",
            'Ô {cell} (sheet "{sheet}") đã bị sửa thành "{value}"; mẫu đã cấp ghi "{expected_shown}". '
            "Ô này được điền sẵn và khóa: trả lại đúng như mẫu đã cấp (hoặc nhập lại số liệu vào "
            "tệp mẫu gốc).",
        ),
        changed(
            "unit_name", "identity.unit_name_differs",
            'Tên đơn vị ở ô {cell} là "{value}", danh sách đơn vị ghi "{expected_shown}". '
            "Nếu đơn vị đã đổi tên, hãy báo Văn phòng Đảng ủy Khối để cập nhật.",
            severity="warning",
        ),
    ])
