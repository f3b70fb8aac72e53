#!/usr/bin/env bash
# loadtest/warmup-compiles.sh DIR VARIANT (after TRACE=1 loadtest/warmup-slices.sh, DIR = its $OUT.d): per second of load (from the wrk start), the JIT compilations by tier (PrintCompilation),
# medians over the rounds' logs DIR/VARIANT-r*.log; and the GC pauses in the first 10 s and the next 10 s.
dir=$1 v=$2
for f in "$dir/$v"-r*.log; do
  t0=$(awk '{print $3}' "${f%.log}.t0")
  awk -v t0="$t0" -v r="$f" '$1 ~ /^[0-9]+$/ && !/made/ {
      tier = ""; for (i = 3; i <= NF; i++) if ($i ~ /^[0-4]$/) { tier = $i; break }
      s = ($1 < t0 ? 0 : int(($1 - t0) / 1000) + 1); if (s > 20) next
      n[s "," tier]++ }
    END { for (k in n) print r, k, n[k] }' "$f"
done | python3 -c '
import sys, statistics, collections
d = collections.defaultdict(list); files = set()
for line in sys.stdin:
    f, k, n = line.split(); s, t = k.split(","); d[(int(s), t)].append(int(n)); files.add(f)
nf = len(files)
print("| second of load | " + " | ".join(str(s) for s in range(0, 21)) + " |")
print("|---|" + "--:|" * 21)
for t, name in (("1", "C1 tier 1"), ("2", "C1 tier 2"), ("3", "C1 tier 3"), ("4", "C2 tier 4")):
    print(f"| {name} | " + " | ".join(str(int(statistics.median(d.get((s, t), []) + [0] * (nf - len(d.get((s, t), [])))))) for s in range(0, 21)) + " |")
'
for f in "$dir/$v"-r*.gc; do
  t0=$(awk '{print $3}' "${f%.gc}.t0")
  awk -v t0="$t0" -v f="$f" '/Pause/ && /ms$/ { t = substr($1, 2) * 1000 - t0; ms = $NF; sub(/ms/, "", ms); if (t < 0) pre += ms; else if (t < 10000) a += ms; else if (t < 20000) b += ms }
    /Pause/ && /ms$/ && t >= 0 && t < 10000 && ms > mx { mx = ms }
    END { printf "%s: GC pauses before load %.0f ms, first 10 s %.0f ms (longest %.1f), next 10 s %.0f ms\n", f, pre, a, mx, b }' "$f"
done
