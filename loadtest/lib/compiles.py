#!/usr/bin/env python3
"""What the JIT compiled during each measured cell: sums a JFR recording's jdk.Compilation events (their duration, by
the compiled method's package) inside the cells' time windows that knobs.sh wrote to CELL_TIMES.

    V_base_OPTS='-XX:StartFlightRecording=filename=/tmp/x/base.jfr,settings=loadtest/lib/compiles.jfc' \\
      CELL_TIMES=/tmp/x/cells VARIANTS=base ROUNDS=1 CELLS='hit:1k:1x16 pass:1k:1x16 zipf:10000:1x16' loadtest/knobs.sh
    python3 loadtest/lib/compiles.py /tmp/x/base.jfr /tmp/x/cells [VARIANT] [TOP]

One column per cell of VARIANT (default: the first in the file); rows are package groups (GROUPS, first match wins)
with the compiler's seconds and share of the cell's compile time; then the TOP (default 12) methods by compile time
per cell. A compile is counted in the cell it started in. Needs the JDK's `jfr` tool on PATH. Answers whether the
compiler's share of a cell is one library's first compiles (e.g. Vert.x's HTTP client on a miss) or a long tail."""
import collections
import datetime
import json
import subprocess
import sys

GROUPS = [  # (group, class-name prefix)
    ('vertx http client', 'io.vertx.core.http.impl.HttpClient'), ('vertx http client', 'io.vertx.core.http.impl.Http1xClient'),
    ('vertx http client', 'io.vertx.core.http.impl.ClientHttp'), ('vertx client pool', 'io.vertx.core.net.impl.pool'),
    ('vertx client pool', 'io.vertx.core.internal.resource'), ('vertx http other', 'io.vertx.core.http'),
    ('vertx other', 'io.vertx'), ('netty http codec', 'io.netty.handler.codec.http'), ('netty other', 'io.netty'),
    ('zcproxy origin', 'dev.zcproxy.proxy.origin'), ('zcproxy internal', 'dev.zcproxy.proxy.internal'),
    ('zcproxy server', 'dev.zcproxy.proxy.server'), ('zcproxy cache', 'dev.zcproxy.cache'), ('zcproxy other', 'dev.zcproxy'),
    ('caffeine', 'com.github.benmanes.caffeine'), ('jdk', 'java.'), ('jdk', 'jdk.'), ('jdk', 'sun.'),
]


def group(cls):
    for g, prefix in GROUPS:
        if cls.startswith(prefix):
            return g
    return 'other'


def seconds(iso_duration):  # PT0.0123S, PT1M2.5S
    s = iso_duration[2:]
    total = 0.0
    for unit, mult in (('H', 3600), ('M', 60)):
        if unit in s:
            head, s = s.split(unit, 1)
            total += float(head) * mult
    return total + (float(s[:-1]) if s.endswith('S') and s[:-1] else 0.0)


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    jfr, times = argv[1], argv[2]
    cells = [line.split() for line in open(times) if line.strip()]
    variant = argv[3] if len(argv) > 3 else cells[0][1]
    top = int(argv[4]) if len(argv) > 4 else 12
    cells = [(f'r{r} {c}', float(a), float(b)) for r, v, c, a, b in cells if v == variant]
    out = subprocess.run(['jfr', 'print', '--json', '--events', 'jdk.Compilation', jfr], capture_output=True, text=True, check=True)
    events = json.loads(out.stdout)['recording']['events']
    by_group = [collections.Counter() for _ in cells]
    by_method = [collections.Counter() for _ in cells]
    for e in events:
        v = e['values']
        start = datetime.datetime.fromisoformat(v['startTime'].replace('Z', '+00:00')).timestamp()
        for i, (_, a, b) in enumerate(cells):
            if a <= start < b:
                cls = v['method']['type']['name'].replace('/', '.')
                d = seconds(v['duration'])
                by_group[i][group(cls)] += d
                by_method[i][f"{cls}.{v['method']['name']} (tier {v['compileLevel']})"] += d
                break
    print('| package group | ' + ' | '.join(name for name, _, _ in cells) + ' |')
    print('|---|' + '--:|' * len(cells))
    totals = [sum(c.values()) for c in by_group]
    names = sorted({g for c in by_group for g in c}, key=lambda g: -sum(c[g] for c in by_group))
    for g in names:
        row = [f'{c[g]:.2f} s ({100 * c[g] / t if t else 0:.1f}%)' for c, t in zip(by_group, totals)]
        print(f'| {g} | ' + ' | '.join(row) + ' |')
    print('| all compiles | ' + ' | '.join(f'{t:.2f} s' for t in totals) + ' |')
    for (name, _, _), m in zip(cells, by_method):
        print(f'\n{name}: top methods by compile time')
        for k, d in m.most_common(top):
            print(f'  {1000 * d:8.1f} ms  {k}')


if __name__ == '__main__':
    main(sys.argv)
