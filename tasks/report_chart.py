"""The report document's chart (matplotlib, Vietnamese labels and numbers), as PNG bytes."""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass

from reporting.vn_format import vn_number

SERIF_FONTS = ("Times New Roman", "Liberation Serif", "DejaVu Serif")
# Letters a Vietnamese label needs that older fonts lack (Liberation 1.x has none of them).
VIETNAMESE_SAMPLE = "ơớờợưứừựăắặâấậđêếệôốộạảẫỹ"


@dataclass(frozen=True)
class ChartData:
    """What the chart draws: a flow by quarter, and figures against their plans."""

    quarter_title: str
    quarter_labels: list[str]
    quarter_values: list[float]
    quarter_decimals: int
    plan_title: str
    plan_labels: list[str]
    plan_percents: list[float]


@functools.lru_cache(maxsize=1)
def _serif_file() -> str | None:
    """The regular face of Times New Roman where installed, else of the metric-compatible
    Liberation Serif, that has every Vietnamese letter (a family name alone may pick a file
    without them: fonts-liberation 1.x and 2.x both call themselves Liberation Serif)."""
    from fontTools.ttLib import TTFont
    from matplotlib import font_manager

    faces = [f for f in font_manager.fontManager.ttflist if f.style == "normal" and f.weight in (400, "normal")]
    for name in SERIF_FONTS:
        for face in sorted((f for f in faces if f.name == name), key=lambda f: f.fname, reverse=True):
            try:
                with TTFont(face.fname, lazy=True) as font:
                    cmap = font.getBestCmap()
            except Exception:  # an unreadable font file is simply not a candidate
                continue
            if all(ord(ch) in cmap for ch in VIETNAMESE_SAMPLE + VIETNAMESE_SAMPLE.upper()):
                return face.fname
    return None


def _use_font(fig, fname: str | None) -> None:
    from matplotlib.font_manager import FontProperties
    from matplotlib.text import Text

    if fname is None:
        return
    for text in fig.findobj(Text):
        props = FontProperties(fname=fname, size=text.get_fontsize())
        text.set_fontproperties(props)


def _wrap(label: str, width: int = 26) -> str:
    words, lines, line = label.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*lines, line])


def draw_chart(data: ChartData) -> bytes:
    """Two panels side by side: the flow by quarter, and % of plan (100% marked)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import FuncFormatter

    panels = [p for p in (bool(data.quarter_values), bool(data.plan_percents)) if p]
    with plt.rc_context({"font.family": "serif", "font.size": 10}):
        fig, axes = plt.subplots(1, max(len(panels), 1), figsize=(8.0, 3.4), dpi=150, squeeze=False)
        axes = list(axes[0])
        if data.quarter_values:
            ax = axes.pop(0)
            bars = ax.bar(data.quarter_labels, data.quarter_values, color="#1F4E79")
            ax.set_title(_wrap(data.quarter_title, 48), fontsize=10)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: vn_number(v, 0)))
            ax.bar_label(bars, labels=[vn_number(v, data.quarter_decimals) for v in data.quarter_values], fontsize=8)
            ax.margins(y=0.15)
            ax.spines[["top", "right"]].set_visible(False)
        if data.plan_percents:
            ax = axes.pop(0)
            labels = [_wrap(label) for label in data.plan_labels]
            bars = ax.barh(labels, data.plan_percents, color="#2E75B6")
            ax.axvline(100, color="#C00000", linewidth=1, linestyle="--")
            ax.set_title(_wrap(data.plan_title, 40), fontsize=10)
            ax.invert_yaxis()
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{vn_number(v, 0)}%"))
            ax.bar_label(bars, labels=[f"{vn_number(v, 0)}%" for v in data.plan_percents], fontsize=8, padding=2)
            ax.set_xlim(0, max([*data.plan_percents, 100]) * 1.2)
            ax.tick_params(axis="y", labelsize=8)
            ax.spines[["top", "right"]].set_visible(False)
        _use_font(fig, _serif_file())
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="png", metadata={"Software": None})
        plt.close(fig)
    return out.getvalue()
