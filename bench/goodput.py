"""Goodput against offered load, drawn as an SVG from a run's own (g) steps.

Each step is a point: the rate Locust offered, and the requests answered with a success
per second (for the overload step, the admitted ones; its shed answers are not goodput). A
diagonal marks goodput equal to the offered load. The drawing is plain SVG text, so it needs
no plotting library and diffs readably.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT, MARGIN = 560, 360, 56


@dataclass(frozen=True, slots=True)
class Point:
    offered: float
    goodput: float
    label: str


def _scale(value: float, top: float, span: int) -> float:
    return value / top * span if top > 0 else 0.0


def _ticks(top: float) -> list[float]:
    step = next(s for s in (50, 100, 200, 250, 500, 1000, 2000, 5000) if top / s <= 8)
    return [step * i for i in range(int(top // step) + 1)]


def svg(points: Sequence[Point], title: str) -> str:
    """The drawing; `points` in the order they were measured."""
    top = max([*(p.offered for p in points), *(p.goodput for p in points), 1.0]) * 1.1
    plot_w, plot_h = WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN

    def x(value: float) -> float:
        return MARGIN + _scale(value, top, plot_w)

    def y(value: float) -> float:
        return HEIGHT - MARGIN - _scale(value, top, plot_h)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="20" text-anchor="middle" font-size="13">{title}</text>',
    ]
    for tick in _ticks(top):
        parts += [
            f'<line x1="{x(tick):.1f}" y1="{y(0):.1f}" x2="{x(tick):.1f}" y2="{y(top):.1f}" '
            'stroke="#eee"/>',
            f'<line x1="{x(0):.1f}" y1="{y(tick):.1f}" x2="{x(top):.1f}" y2="{y(tick):.1f}" '
            'stroke="#eee"/>',
            f'<text x="{x(tick):.1f}" y="{y(0) + 14:.1f}" text-anchor="middle">{tick:g}</text>',
            f'<text x="{x(0) - 6:.1f}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>',
        ]
    parts += [
        f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(top)}" y2="{y(top)}" stroke="#bbb" '
        'stroke-dasharray="4 4"/>',
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 12}" text-anchor="middle">offered (requests/s)</text>',
        f'<text x="14" y="{HEIGHT / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {HEIGHT / 2})">goodput (successful answers/s)</text>',
    ]
    ordered = sorted(points, key=lambda p: p.offered)
    path = " ".join(f"{x(p.offered):.1f},{y(p.goodput):.1f}" for p in ordered)
    parts.append(f'<polyline points="{path}" fill="none" stroke="#1f77b4" stroke-width="2"/>')
    for point in points:
        parts += [
            f'<circle cx="{x(point.offered):.1f}" cy="{y(point.goodput):.1f}" r="4" '
            'fill="#1f77b4"/>',
            f'<text x="{x(point.offered) + 6:.1f}" y="{y(point.goodput) - 6:.1f}">'
            f"{point.label}</text>",
        ]
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
