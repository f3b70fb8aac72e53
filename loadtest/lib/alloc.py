#!/usr/bin/env python3
"""alloc.py IDLE.jfr LOAD.jfr REQUESTS LABEL: bytes allocated per request by zcproxy's event loops and
cache-io threads, from jdk.ThreadAllocationStatistics (exact cumulative counters, not samples), with the
idle recording's background rate subtracted over the load recording's span (loadtest/alloc.sh)."""
import datetime
import json
import subprocess
import sys


def per_thread(rec):
    ev = json.loads(subprocess.run(["jfr", "print", "--json", "--events", "jdk.ThreadAllocationStatistics", rec],
                                   check=True, capture_output=True, text=True).stdout)["recording"]["events"]
    by, times = {}, []
    for e in ev:
        v = e["values"]
        name = (v.get("thread") or {}).get("javaName") or "?"
        by.setdefault(name, []).append(v["allocated"])
        times.append(v["startTime"])
    return {n: max(a) - min(a) for n, a in by.items() if "eventloop" in n or "cache-io" in n}, times


def span(times):
    ts = sorted(times)
    f = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "")[:26])
    return max((f(ts[-1]) - f(ts[0])).total_seconds(), 0.001)


def main():
    idle, ti = per_thread(sys.argv[1])
    load, tl = per_thread(sys.argv[2])
    req = max(int(sys.argv[3]), 1)
    rate = sum(idle.values()) / span(ti)
    total = sum(load.values())
    secs = span(tl)
    net = total - rate * secs
    print(f"{sys.argv[4]}: {req} requests in a {secs:.1f} s recording; event loops + cache-io allocated {total:,} B;"
          f" idle rate {rate:,.0f} B/s; {net / req:,.0f} B per request net of it ({total / req:,.0f} gross)")


if __name__ == "__main__":
    main()
