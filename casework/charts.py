"""Supervision charts as SVG drawn on the server by pygal, with its JavaScript switched off.

The page embeds them as images (`<img src=…svg>`), so the page's strict CSP is untouched, they
print, and nothing needs JavaScript. Labels are in the page language (Chinese first).
"""

from __future__ import annotations

import re
import sys

import pygal
from flask_babel import gettext as _
from pygal.style import Style

from casework.supervision import Month

# pygal adds an import hook for its old plugin module names (pygal.maps.*) that lacks
# find_spec, so every later import that falls through the hooks warns (an error under the test
# suite's warning filter). The portal uses no pygal plugin: the hook goes.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]

STYLE = Style(
    background="white", plot_background="white", foreground="#222", foreground_strong="#111",
    foreground_subtle="#666", colors=("#1f5f9f", "#b26a00", "#2e7d32"),
    font_family="'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', 'PingFang SC', "
                "'Microsoft YaHei', sans-serif",
    title_font_size=16, label_font_size=12, major_label_font_size=12, legend_font_size=12,
)


def _config(title: str) -> pygal.Config:
    config = pygal.Config()
    config.js = []  # no script, no third-party resource
    config.style = STYLE
    config.title = title
    config.width, config.height = 800, 360
    config.legend_at_bottom = True
    config.show_minor_x_labels = True
    config.x_label_rotation = 0
    config.print_values = False
    config.disable_xml_declaration = False
    return config


# pygal always writes its configuration as an inline script; an image needs none.
_SCRIPT = re.compile(rb"<script\b[^>]*>.*?</script>", re.S)


def _svg(chart: pygal.graph.graph.Graph) -> bytes:
    return _SCRIPT.sub(b"", bytes(chart.render()))


def count_ticks(top: int, most: int = 8) -> list[int]:
    """Whole-number axis ticks from 0 past `top`, at most `most` + 1 of them, on a 1-2-5 step
    (pygal's own ticks would show 0.2 of a case)."""
    step = 1
    while top > step * most:
        step = step * 5 // 2 if str(step)[0] == "2" else step * 2  # 1, 2, 5, 10, 20, 50…
    return list(range(0, top + step, step)) if top > 0 else [0, 1]


def received_vs_concluded(months: list[Month]) -> bytes:
    """Cases received and concluded per month."""
    chart = pygal.Bar(_config(_("Cases received and concluded per month")))
    chart.x_labels = [m.month for m in months]
    chart.y_labels = count_ticks(max((max(m.received, m.concluded) for m in months), default=0))
    chart.add(_("Cases received"), [m.received for m in months])
    chart.add(_("Cases concluded"), [m.concluded for m in months])
    return _svg(chart)


def days_to_decision(months: list[Month]) -> bytes:
    """Median working days from receipt to decision, per month of the decision."""
    chart = pygal.Line(_config(_("Median working days from receipt to decision")))
    chart.x_labels = [m.month for m in months]
    chart.add(_("Median"), [m.median_decision for m in months])
    return _svg(chart)
