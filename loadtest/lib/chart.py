#!/usr/bin/env python3
"""loadtest/lib/chart.py: draws a run's raw.tsv as one SVG (standard library only).

    python3 loadtest/lib/chart.py results/<run>/raw.tsv > results/<run>/chart.svg

One panel per metric, one group of bars per row (scenario, size, wrk connections), one bar per
target, every bar a ratio to nginx's median in the same row (nginx = 1.0, the dashed line):
  - req/s (higher is better; MB/s gives the same ratio for a fixed body size),
  - proxy CPU per request (lower is better), from cpu_s_per_10k.
For hit and pass bodies of 16 MiB and more the bars are MB/s and CPU per GB instead (as in summary.md:
at 128 connections no 100 MB body finishes within a 5 s run, but wrk counts the bytes under way).
Medians over the run's rounds, as in summary.md. Rows where nginx has no number are left out.
"""
import csv
import html
import statistics
import sys
from collections import OrderedDict, defaultdict

COLOURS = OrderedDict([
    ("zcproxy", "#d9480f"),
    ("nginx", "#2f9e44"),
    ("varnish", "#1971c2"),
    ("haproxy", "#7048e8"),
    ("direct", "#868e96"),
])
METRICS = [
    ("rps", "req/s relative to nginx (higher is better)"),
    ("cpu_s_per_10k", "proxy CPU per request relative to nginx (lower is better)"),
]


def number(text):
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if value == value else None  # NaN


def load(path):
    rows = defaultdict(lambda: defaultdict(list))  # (scenario, param, conns) -> target -> [row]
    order = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            key = (row["scenario"], row["param"], row["conns"])
            if key not in rows:
                order.append(key)
            rows[key][row["target"]].append(row)
    return order, rows


BYTEWISE = {"rps": "mbps", "cpu_s_per_10k": "cpu_s_per_gb"}


def size_bytes(param):
    """'16m' -> 16777216; 0 for a parameter that is not a size."""
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    try:
        return float(param[:-1]) * units[param[-1].lower()] if param[-1:].lower() in units else float(param)
    except ValueError:
        return 0


def medians(order, rows, metric):
    """[(label, {target: ratio to nginx})] for the rows where nginx has a positive median."""
    out = []
    for key in order:
        per_target = {}
        large = key[0] in ("hit", "pass") and size_bytes(key[1]) >= 16 << 20
        column = BYTEWISE.get(metric, metric) if large else metric
        for target, samples in rows[key].items():
            values = [v for v in (number(s.get(column)) for s in samples) if v is not None]
            if values:
                per_target[target] = statistics.median(values)
        base = per_target.get("nginx")
        if not base:
            continue
        label = " ".join(part for part in key if part and part != "-")
        out.append((label, {t: v / base for t, v in per_target.items()}))
    return out


def panel(title, groups, targets, top):
    bar, gap, left, height = 9, 14, 56, 220
    width = left + len(groups) * (len(targets) * bar + gap) + 20
    peak = max([1.5] + [r for _, ratios in groups for r in ratios.values()])
    peak = min(peak, 4.0)
    scale = height / peak
    parts = [f'<g transform="translate(0,{top})">',
             f'<text x="{left}" y="14" font-size="13" font-weight="bold">{html.escape(title)}</text>']
    base_y = 24 + height
    for tick in [x * 0.5 for x in range(int(peak / 0.5) + 1)]:
        y = base_y - tick * scale
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e9ecef"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{tick:.1f}x</text>')
    y1 = base_y - scale
    parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y1:.1f}" y2="{y1:.1f}" stroke="#2f9e44" '
                 'stroke-dasharray="4 3"/>')
    x = left + gap / 2
    for label, ratios in groups:
        for target in targets:
            ratio = ratios.get(target)
            if ratio is not None:
                h = min(ratio, peak) * scale
                if ratio > peak:  # clipped: say the value above the bar
                    parts.append(f'<text x="{x:.1f}" y="{base_y - h - 2:.1f}" font-size="8">{ratio:.0f}x</text>')
                parts.append(f'<rect x="{x:.1f}" y="{base_y - h:.1f}" width="{bar - 1}" height="{h:.1f}" '
                             f'fill="{COLOURS.get(target, "#495057")}"><title>{html.escape(target)} '
                             f'{html.escape(label)}: {ratio:.2f}x nginx</title></rect>')
            x += bar
        cx = x - len(targets) * bar / 2
        parts.append(f'<text transform="translate({cx:.1f},{base_y + 8}) rotate(60)" font-size="10">'
                     f'{html.escape(label)}</text>')
        x += gap
    parts.append('</g>')
    return width, base_y + 90, "\n".join(parts)


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: chart.py RAW_TSV > chart.svg\n")
        return 2
    order, rows = load(argv[1])
    present = {t for key in order for t in rows[key]}
    targets = [t for t in COLOURS if t in present] + sorted(present - set(COLOURS))
    body, width, top = [], 400, 30
    for metric, title in METRICS:
        groups = medians(order, rows, metric)
        if not groups:
            continue
        w, h, svg = panel(title, groups, targets, top)
        body.append(svg)
        width, top = max(width, w), top + h
    legend, x = [], 56
    for target in targets:
        legend.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{COLOURS.get(target, "#495057")}"/>'
                      f'<text x="{x + 14}" y="15" font-size="11">{html.escape(target)}</text>')
        x += 90
    sys.stdout.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{top}" '
                     f'font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n'
                     + "\n".join(legend) + "\n" + "\n".join(body) + "\n</svg>\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
