"""Numbers as Vietnamese readers write them: `.` groups thousands, `,` marks decimals."""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal
from typing import Any


def round_half_up(value: float, decimals: int = 0) -> float:
    """`value` rounded as Excel and LibreOffice show it: a half away from zero, read to 15 significant
    digits (211.25 -> 211.3, where Python's round() gives 211.2), so the report's figures and its data
    workbook's cells never differ in the last digit."""
    return float(_half_up(value, decimals))


def _half_up(value: float, decimals: int) -> Decimal:
    return Decimal(f"{float(value):.15g}").quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def vn_number(value: float | int | None, decimals: int = 0) -> str:
    """9899.4 -> '9.899,4'; 211.25 -> '211,3' (as a spreadsheet shows it); None -> ''."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and math.isinf(value):
        return f"{value:,.{decimals}f}"
    text = f"{_half_up(value, decimals) + 0:,.{decimals}f}"
    return text.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")


def vn_plain(value: float) -> str:
    """As few decimals as the number has: 9899 -> '9.899', 9.899 -> '9,899', 1e-9 -> '0,000000001'."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    if value and text in ("0", "-0"):
        text = f"{value:.15f}".rstrip("0").rstrip(".")
    decimals = len(text.split(".")[1]) if "." in text else 0
    return vn_number(value, decimals)


def dated_vi(made_on: dt.date, document_date: dt.date | None) -> str:
    """When a published version was made, and the date its document bears when that was given."""
    if document_date is None or document_date == made_on:
        return f"lập ngày {made_on:%d/%m/%Y}"
    return f"văn bản ghi ngày {document_date:%d/%m/%Y}, lập ngày {made_on:%d/%m/%Y}"


def upper_keeping_symbols(text: str) -> str:
    """A title in capitals with document symbols as written ("135-CTr/TU" stays so, never
    "135-CTR/TU"): a word with a digit in it is a symbol."""
    return " ".join(w if any(ch.isdigit() for ch in w) else w.upper() for w in text.split(" "))


def vn_percent(pct: float | None) -> str:
    """106.0 -> '106%'; 99.6 -> '99,6%': a share short of (or over) 100 never reads as 100%."""
    if pct is None or (isinstance(pct, float) and math.isnan(pct)):
        return ""
    return f"{vn_number(pct, percent_decimals(pct))}%"


def percent_decimals(pct: float) -> int:
    """Decimals a % of plan is shown with: none, unless it would round to 100 without being 100."""
    return 1 if round_half_up(pct) == 100 and round_half_up(pct, 1) != 100 else 0


def headline_cells(row: dict[str, Any]) -> tuple[str, str, str, str]:
    """(label, value, plan, % of plan) of one v_year_end_programme135 row, formatted."""
    decimals, unit = int(row["display_decimals"]), row["display_unit_vi"]
    value = vn_number(row["value"], decimals)
    plan = vn_number(row["plan"], decimals)
    return (
        row["label_vi"],
        f"{value} {unit}" if value else "",
        f"{plan} {unit}" if plan else "",
        vn_percent(row["pct_of_plan"]),
    )


def headline_markdown(year: int, rows: list[dict[str, Any]]) -> str:
    lines = [
        f"# Kết quả thực hiện Chương trình hành động 135-CTr/TU năm {year}",
        "",
        f"| Chỉ tiêu | Năm {year} | Kế hoạch | % kế hoạch |",
        "|---|---:|---:|---:|",
    ]
    lines += ["| " + " | ".join(headline_cells(r)) + " |" for r in rows]
    return "\n".join(lines) + "\n"


# White space, and the invisible characters a paste from the web or a chat brings along (zero-width
# space and joiners, word joiner, byte-order mark): the clerk cannot see them to delete them.
_SPACES = re.compile(r"[\s\u00a0\u202f\u200b\u200c\u200d\u2060\ufeff]")
_VN_GROUPED = re.compile(r"^[1-9]\d{0,2}(\.\d{3})+(,\d+)?$")
_EN_GROUPED = re.compile(r"^[1-9]\d{0,2}(,\d{3})+(\.\d+)?$")
_VN_DECIMAL = re.compile(r"^\d+,\d+$")
_EN_DECIMAL = re.compile(r"^\d+\.\d+$")


_MONEY_WORDS = {"tỷ": 1e9, "tỉ": 1e9, "triệu": 1e6, "nghìn": 1e3, "ngàn": 1e3}
_MONEY_SUFFIX = re.compile(r"\s*(tỷ|tỉ|triệu|nghìn|ngàn)?\s*(đồng|đ|vnđ|vnd)?\s*$", re.IGNORECASE)


def _money_scale(unit_vi: str | None) -> float | None:
    """VND per unit of an indicator measured in money (tỷ đồng: 1e9), else None."""
    if not unit_vi or "đồng" not in unit_vi:
        return None
    for word, scale in _MONEY_WORDS.items():
        if unit_vi.startswith(word):
            return scale
    return 1.0


def number_readings(text: str, unit_vi: str | None = None) -> list[float]:
    """The numbers a clerk may have meant by `text`, in the indicator's unit: Vietnamese first.

    `9.899` reads 9899 the Vietnamese way and 9.899 the English way; `1.234,5` only 1234.5;
    `(0,581)` -0.581, as accountants write a negative; `abc` nothing. Spaces between digit groups are allowed; in a money cell a trailing `tỷ`,
    `triệu` or `đồng` converts to the cell's unit (`500 triệu` in a tỷ-đồng cell is 0,5); the cell's own unit
    typed after the number is dropped (`1.280 người` of workers is 1280, `2 tỷ` of inspections is nothing).
    """
    text = unicodedata.normalize("NFC", text)
    factor = 1.0
    own = unicodedata.normalize("NFC", unit_vi or "").strip().lower()
    if own and text.rstrip().lower().endswith(own) and text.rstrip()[: -len(own)].rstrip()[-1:].isdigit():
        # The cell's own unit typed after the number ("1.280 người" of workers): the number itself.
        return [round(r, 9) for r in _plain_readings(text.rstrip()[: -len(own)])]
    suffix = _MONEY_SUFFIX.search(text)
    if suffix and suffix.group(0).strip():
        cell_scale = _money_scale(unit_vi)
        if cell_scale is None:
            return []
        word = (suffix.group(1) or "").lower()
        factor = _MONEY_WORDS.get(word, 1.0) / cell_scale
        text = text[: suffix.start()]
    return [round(r * factor, 9) for r in _plain_readings(text)]


def _plain_readings(text: str) -> list[float]:
    t = _SPACES.sub("", text)
    sign = -1.0 if t.startswith("-") else 1.0
    t = t.lstrip("+-")
    if sign > 0 and len(t) > 2 and t[0] == "(" and t[-1] == ")":
        # An accountant's negative: "(0,581)" is a loss of 0,581.
        sign, t = -1.0, t[1:-1]
    readings: list[float] = []
    if t.isdigit():
        readings.append(float(t))
    if _VN_GROUPED.match(t) or _VN_DECIMAL.match(t):
        readings.append(float(t.replace(".", "").replace(",", ".")))
    if _EN_GROUPED.match(t) or _EN_DECIMAL.match(t):
        readings.append(float(t.replace(",", "")))
    unique = list(dict.fromkeys(readings))
    return [sign * r for r in unique]


def fits_decimals(value: float, decimals: int) -> bool:
    return abs(round(value, decimals) - value) < 1e-9


# Vietnamese typed with the pre-Unicode font encodings lands in a Unicode file as Latin-1
# look-alikes: TCVN3 (ABC, fonts .VnTime...) puts whole letters on symbols such as ¸ µ ¶ § ®;
# VNI puts a base letter followed by a tone mark such as ù ø û õ ï.
_VIETNAMESE = re.compile(r"[\u0102\u0103\u0110\u0111\u01a0\u01a1\u01af\u01b0\u1ea0-\u1ef9]")
_TCVN3 = re.compile(r"[\u00a1-\u00a9\u00ab-\u00ae\u00b5-\u00be\u00c6\u00c7\u00cc\u00cd\u00d1-\u00d6\u00d8-\u00dc\u00de-\u00ff]")
_TCVN3_SIGNS = re.compile(r"[\u00a7\u00ae\u00b5\u00b6\u00b8\u00b9\u00ab\u00ac\u00a8\u00a9]")
_VNI = re.compile(r"[A-Za-z][\u00f9\u00f8\u00fb\u00f5\u00ef\u00d9\u00d8\u00db\u00d5\u00cf\u00e2\u00ea\u00f4\u00e4\u00e6\u00e7\u00e8\u00e9\u00eb]|[\u00d1\u00f1][a-z]")


# TCVN3 puts many lower-case letters on upper-case Latin-1 ones (ể on Ó, ị on Þ, ế on Õ): a capital
# inside a lower-case word ("TriÓn", "NguyÔn") is no Vietnamese written in Unicode.
_TCVN3_INSIDE_WORD = re.compile(r"[a-zß-ÿ][À-Þ]")


def legacy_encoding(text: str) -> str | None:
    """'TCVN3 (ABC)' or 'VNI' when text looks typed in that encoding, else None."""
    if len(text) < 4 or _VIETNAMESE.search(text):
        return None
    signs, inside = len(_TCVN3_SIGNS.findall(text)), len(_TCVN3_INSIDE_WORD.findall(text))
    if len(_TCVN3.findall(text)) >= 2 and (signs >= 2 or (inside and signs) or inside >= 2):
        return "TCVN3 (ABC)"
    if len(_VNI.findall(text)) >= 2:
        return "VNI"
    return None
