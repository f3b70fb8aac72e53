#!/usr/bin/env python3
"""flame.py: a JFR recording -> flame graph SVGs (CPU samples, allocation samples) and a top table.

Reads `jfr print --json --events <event> FILE` output (the JDK's own tool: no converter to install).

  flame.py RECORDING.jfr OUTPREFIX [TITLE] [REQUESTS]

writes OUTPREFIX-cpu.svg (jdk.ExecutionSample, one sample = one count), OUTPREFIX-alloc.svg
(jdk.ObjectAllocationSample, weighted by the sampled bytes) and OUTPREFIX-top.txt (the hottest leaf
frames and allocation sites; with REQUESTS, bytes allocated per request).
"""
import html
import json
import os
import shutil
import subprocess
import sys


def jfr_bin():
    home = os.environ.get("JAVA_HOME")
    if home and os.path.exists(os.path.join(home, "bin", "jfr")):
        return os.path.join(home, "bin", "jfr")
    return shutil.which("jfr") or "jfr"


def events(recording, name):
    out = subprocess.run([jfr_bin(), "print", "--json", "--stack-depth", "96", "--events", name, recording],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["recording"]["events"]


def frame_name(f):
    return _frame_name(f).replace(";", ",")


def _frame_name(f):
    m = f.get("method") or {}
    t = ((m.get("type") or {}).get("name") or "?").replace("/", ".")
    return t.rsplit(".", 1)[-1] + "." + (m.get("name") or "?") if t.count(".") > 3 else t + "." + (m.get("name") or "?")


def stacks(evs, weight_field=None):
    folded = {}
    for e in evs:
        v = e["values"]
        st = v.get("stackTrace") or {}
        frames = [frame_name(f) for f in reversed(st.get("frames") or [])]
        if weight_field:
            leaf = ((v.get("objectClass") or {}).get("name") or "?").replace("/", ".").replace(";", "")
            frames.append("[" + leaf + "]")
        key = ";".join(frames) or "[no stack]"
        w = int(v.get(weight_field, 0)) if weight_field else 1
        folded[key] = folded.get(key, 0) + w
    return folded


def svg(folded, title, unit, path, width=1600, row=16):
    root = {"n": "all", "v": 0, "c": {}}
    for stack, v in folded.items():
        node = root
        node["v"] += v
        for fr in stack.split(";"):
            node = node["c"].setdefault(fr, {"n": fr, "v": 0, "c": {}})
            node["v"] += v
    total = max(root["v"], 1)
    rects = []
    depth_max = [0]

    def walk(node, x, depth):
        depth_max[0] = max(depth_max[0], depth)
        w = node["v"] / total * width
        if w < 0.3:
            return
        rects.append((x, depth, w, node["n"], node["v"]))
        cx = x
        for ch in sorted(node["c"].values(), key=lambda c: c["n"]):
            walk(ch, cx, depth + 1)
            cx += ch["v"] / total * width

    walk(root, 0.0, 0)
    height = (depth_max[0] + 3) * row
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="monospace" font-size="11">',
           f'<text x="4" y="12">{html.escape(title)} ({total} {unit})</text>']
    for x, d, w, n, v in rects:
        y = height - (d + 1) * row
        h = (hash(n) & 0xFFFFFF)
        color = f"rgb({200 + h % 55},{80 + (h >> 8) % 120},{40 + (h >> 16) % 60})"
        label = n if len(n) * 6.5 < w else (n[: int(w / 6.5) - 2] + ".." if w > 30 else "")
        tip = f"{n} ({v} {unit}, {v * 100.0 / total:.1f}%)"
        out.append(f'<g><title>{html.escape(tip)}</title><rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row - 1}" '
                   f'fill="{color}"/><text x="{x + 2:.1f}" y="{y + row - 4}">{html.escape(label)}</text></g>')
    out.append("</svg>")
    with open(path, "w") as fh:
        fh.write("\n".join(out))
    return total


def top(folded, n=25, leaf_only=True):
    agg = {}
    for stack, v in folded.items():
        frames = stack.split(";")
        k = frames[-1] if leaf_only else stack
        if leaf_only and k.startswith("[") and len(frames) > 1:
            k = frames[-2] + " -> " + k
        agg[k] = agg.get(k, 0) + v
    return sorted(agg.items(), key=lambda kv: -kv[1])[:n]


def main():
    rec, prefix = sys.argv[1], sys.argv[2]
    title = sys.argv[3] if len(sys.argv) > 3 else os.path.basename(rec)
    requests = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4].isdigit() else 0
    cpu = stacks(events(rec, "jdk.ExecutionSample"))
    alloc = stacks(events(rec, "jdk.ObjectAllocationSample"), "weight")
    ncpu = svg(cpu, title + ": CPU samples", "samples", prefix + "-cpu.svg")
    nalloc = svg(alloc, title + ": allocated bytes (sampled)", "bytes", prefix + "-alloc.svg")
    with open(prefix + "-top.txt", "w") as fh:
        fh.write(f"{title}\nCPU samples: {ncpu}\nallocated bytes (JFR sampled estimate): {nalloc}\n")
        if requests:
            fh.write(f"requests: {requests}; allocated bytes per request: {nalloc / requests:.0f}\n")
        fh.write("\nhottest leaf frames (CPU samples):\n")
        for k, v in top(cpu):
            fh.write(f"  {v * 100.0 / max(ncpu, 1):5.1f}%  {k}\n")
        fh.write("\nallocation sites (bytes):\n")
        for k, v in top(alloc):
            fh.write(f"  {v * 100.0 / max(nalloc, 1):5.1f}%  {k}\n")


if __name__ == "__main__":
    main()
