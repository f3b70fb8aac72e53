#!/usr/bin/env bash
# loadtest/warmup-slices.sh: where do a fresh zcproxy's first seconds lose? Starts a fresh zcproxy through
# bin/zcproxy (as loadtest/warmup.sh does, with its kept class-data archive from a training run), serves one
# warmed 1 KiB hit with one wrk run of DURATION (20 s) from the moment the listener answers, and samples the
# admin /metrics response counter and the proxy's CPU every second: req/s and CPU us/req per 1 s slice.
# With TRACE=1 the JVM also logs its JIT compilations (-XX:+PrintCompilation, into the proxy's log) and GC
# events with heap sizes (-Xlog:gc*,safepoint), kept in $OUT.d/<variant>-r<round>.{log,gc} for reading.
#
#   VARIANTS='base' V_base_JAR=/tmp/jars/base-6cd85c9.jar ROUNDS=3 loadtest/warmup-slices.sh
#   VARIANTS='a b' V_a_JAR=... V_b_JAR=... V_b_OPTS='-XX:+Foo' TRACE=1 loadtest/warmup-slices.sh
#
# Each variant: V_<name>_JAR (default proxy/target/zcproxy.jar), V_<name>_OPTS (JVM options added to HEAP_OPTS, by
# default bin/zcproxy's own JVM options for the variant's java: lib/common.sh's launcher_opts; a later -XX wins),
# V_<name>_JAVA (java to run, default java on PATH), V_<name>_ENV (VAR=value ... for bin/zcproxy, e.g. ZCPROXY_CDS=aot). Variants are interleaved per round (the order rotates).
# Output: $OUT.tsv (round, variant, slice second, req/s, CPU us/req) and, per variant, the median of each slice
# over the rounds and the ratio of the first 10 s to the next (mean req/s of slices 1-10 over 11-19: the last slice
# is cut short by wrk's end; also each round's first 10 s over the median of the variant's warm windows), printed and
# in $OUT.md. Nothing is committed for you.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=lib/common.sh
. "$HERE/lib/common.sh"

DURATION=${DURATION:-20}
TRAIN=${TRAIN:-20s}
ROUNDS=${ROUNDS:-3}
SIZE=${SIZE:-1k}
CONNS=${CONNS:-1x16}
TRACE=${TRACE:-0}
VARIANTS=${VARIANTS:-base}
HEAP_OPTS=${HEAP_OPTS:-} # empty: bin/zcproxy's defaults for each variant's java (launcher_opts)
ORIGIN_PORT=${ORIGIN_PORT:-18281}
ZCPROXY_ADMIN_PORT=${ZCPROXY_ADMIN_PORT:-18290}
ZCPROXY_PORT=${ZCPROXY_PORT:-18280}
OUT=${OUT:-$HERE/results/SLICES-$(date +%Y%m%d-%H%M)}
WORK=$(mktemp -d /tmp/zcproxy-slices.XXXXXX)

ORIGIN_PID= PROXY_PID= WRK_PID=
cleanup() {
  trap "" INT TERM
  [[ -n $WRK_PID ]] && kill "$WRK_PID" 2>/dev/null
  [[ -n $PROXY_PID ]] && stop_pid "$PROXY_PID" zcproxy
  [[ -n $ORIGIN_PID ]] && stop_pid "$ORIGIN_PID" origin
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need wrk wrk || die "wrk not found"
var() { local n="V_$1_$2"; echo "${!n:-}"; }
jar_of() { local j; j=$(var "$1" JAR); echo "${j:-$ROOT/proxy/target/zcproxy.jar}"; }
java_of() { local j; j=$(var "$1" JAVA); echo "${j:-java}"; }

start_proxy() { # VARIANT LOGBASE [EXTRA OPTS...]: a fresh zcproxy on an empty cache dir with the variant's archive
  local v=$1 logbase=$2 java home opts; shift 2
  java=$(java_of "$v")
  opts=${HEAP_OPTS:-$(launcher_opts "$java")} || return 1
  home=$(java_home "$java")
  rm -rf "$WORK/cache"; mkdir -p "$WORK/cache" "$WORK/cds-$v"
  T0=$(date +%s%N)
  # shellcheck disable=SC2046
  env $(var "$v" ENV) JAVA_HOME=$home ZCPROXY_JAR=$(jar_of "$v") ZCPROXY_CDS_DIR=$WORK/cds-$v ZCPROXY_JAVA_OPTS="$opts $(var "$v" OPTS) $*" \
    "$ROOT/bin/zcproxy" --listen "127.0.0.1:$ZCPROXY_PORT" --origin "http://127.0.0.1:$ORIGIN_PORT" \
    --cache-dir "$WORK/cache" --cache-size 1GiB --admin "127.0.0.1:$ZCPROXY_ADMIN_PORT" --access-log off >"$logbase.log" 2>&1 &
  PROXY_PID=$!
  wait_http "http://127.0.0.1:$ZCPROXY_PORT/" 60 "$PROXY_PID" || { log "zcproxy did not start: $(tail -3 "$logbase.log")"; return 1; }
  START_MS=$((($(date +%s%N) - T0) / 1000000))
}
threads_cpu() { # PID: CPU ticks of the JIT compiler threads (C1, C2), the VM thread (serial GC) and the rest
  local f stat comm rest c1=0 c2=0 vm=0 other=0 t
  for f in /proc/"$1"/task/*/stat; do
    stat=$(<"$f") 2>/dev/null || continue
    comm=${stat#*(}; comm=${comm%%)*}; rest=${stat##*) }
    set -- $rest; t=$((${12} + ${13}))
    case $comm in "C1 CompilerThre"*) c1=$((c1 + t)) ;; "C2 CompilerThre"*) c2=$((c2 + t)) ;; "VM Thread") vm=$((vm + t)) ;; *) other=$((other + t)) ;; esac
  done
  echo "$c1 $c2 $vm $other"
}
responses() { # the proxy's response counter (all outcomes and modes)
  curl -s --max-time 2 "http://127.0.0.1:$ZCPROXY_ADMIN_PORT/metrics" |
    awk '/^zcproxy_responses_total\{/ { s += $NF } END { printf "%.0f", s }'
}

log "starting demo origin on 127.0.0.1:$ORIGIN_PORT"
mkdir -p "$WORK/data"
start_origin "$(jar_of "${VARIANTS%% *}")" "127.0.0.1:$ORIGIN_PORT" "$WORK/data" "$(nproc)" "$SIZE" "$WORK/origin.log" || die "origin did not start"

read -r -a ACTIVE <<<"$VARIANTS"
for v in "${ACTIVE[@]}"; do # a training run writes the kept class-data archive, as bin/zcproxy's first run does
  log "$v: ZCPROXY_JAVA_OPTS=${HEAP_OPTS:-$(launcher_opts "$(java_of "$v")")} $(var "$v" OPTS)"
  log "training run for $v ($TRAIN of hits, 2 s of passes)"
  start_proxy "$v" "$WORK/train-$v" || die "training run of $v failed"
  curl -s -o /dev/null "http://127.0.0.1:$ZCPROXY_PORT/files/$SIZE"
  wrk -t1 -c16 -d"$TRAIN" -s "$HERE/scenarios/hit.lua" "http://127.0.0.1:$ZCPROXY_PORT" -- size="$SIZE" >/dev/null 2>&1
  wrk -t1 -c16 -d2s -s "$HERE/scenarios/pass.lua" "http://127.0.0.1:$ZCPROXY_PORT" -- size="$SIZE" >/dev/null 2>&1
  stop_pid "$PROXY_PID" zcproxy; wait "$PROXY_PID" 2>/dev/null || true; PROXY_PID=
  log "$v: class-data directory after its training run: $(ls "$WORK/cds-$v" | tr "\n" " ")"
done

mkdir -p "$(dirname "$OUT")"
TSV=$OUT.tsv
[[ $TRACE == 1 ]] && mkdir -p "$OUT.d"
TICKS=$(getconf CLK_TCK)
printf 'round\tvariant\tstart_ms\tsecond\trps\tcpu_us_per_req\tc1_ms\tc2_ms\tvm_ms\tother_ms\n' >"$TSV"
th=${CONNS%x*} co=${CONNS#*x}
for ((round = 1; round <= ROUNDS; round++)); do
  order=("${ACTIVE[@]:$(((round - 1) % ${#ACTIVE[@]}))}" "${ACTIVE[@]:0:$(((round - 1) % ${#ACTIVE[@]}))}")
  for v in "${order[@]}"; do
    extra=()
    [[ $TRACE == 1 ]] && extra=(-XX:+PrintCompilation "-Xlog:gc*,safepoint:file=$WORK/$v-r$round.gc:uptime")
    start_proxy "$v" "$WORK/$v-r$round" "${extra[@]}" || { stop_pid "$PROXY_PID" zcproxy; PROXY_PID=; continue; }
    curl -s -o /dev/null "http://127.0.0.1:$ZCPROXY_PORT/files/$SIZE" # the miss that stores it
    wrk -t"$th" -c"$co" -d"${DURATION}s" -s "$HERE/scenarios/hit.lua" "http://127.0.0.1:$ZCPROXY_PORT" -- size="$SIZE" >/dev/null 2>&1 &
    WRK_PID=$!
    n0=$(responses) c0=$(cpu_ticks "$PROXY_PID") t0=$(date +%s%N) tw=$t0
    read -r a0 b0 v0 o0 <<<"$(threads_cpu "$PROXY_PID")"
    wrk_ms=$(((t0 - T0) / 1000000))
    for ((s = 1; s <= DURATION; s++)); do
      # sleep to the next whole second after the wrk start (no drift from the sampling itself)
      now=$(date +%s%N); left=$((tw + s * 1000000000 - now)); ((left > 0)) && sleep "$(awk -v l="$left" 'BEGIN { printf "%.3f", l / 1e9 }')"
      n1=$(responses) c1=$(cpu_ticks "$PROXY_PID") t1=$(date +%s%N)
      read -r a1 b1 v1 o1 <<<"$(threads_cpu "$PROXY_PID")"
      awk -v r="$round" -v v="$v" -v ms="$START_MS" -v s="$s" -v dn=$((n1 - n0)) -v dc=$((c1 - c0)) -v dt=$((t1 - t0)) -v hz="$TICKS" \
        -v a=$((a1 - a0)) -v b=$((b1 - b0)) -v g=$((v1 - v0)) -v o=$((o1 - o0)) \
        'BEGIN { k = 1000 / hz; printf "%d\t%s\t%d\t%d\t%.0f\t%.1f\t%d\t%d\t%d\t%d\n", r, v, ms, s, dn / (dt / 1e9), (dn > 0 ? dc / hz * 1e6 / dn : 0), a * k, b * k, g * k, o * k }' >>"$TSV"
      n0=$n1 c0=$c1 t0=$t1 a0=$a1 b0=$b1 v0=$v1 o0=$o1
    done
    wait "$WRK_PID" 2>/dev/null || true; WRK_PID=
    stop_pid "$PROXY_PID" zcproxy; wait "$PROXY_PID" 2>/dev/null || true; PROXY_PID=
    if [[ $TRACE == 1 ]]; then
      cp "$WORK/$v-r$round.log" "$OUT.d/$v-r$round.log"; cp "$WORK/$v-r$round.gc" "$OUT.d/$v-r$round.gc" 2>/dev/null || true
      echo "wrk started ${wrk_ms} ms after exec" >"$OUT.d/$v-r$round.t0"
    fi
    log "r$round $v: started in $START_MS ms, wrk from $wrk_ms ms: $(awk -F'\t' -v r="$round" -v v="$v" '$1 == r && $2 == v { printf "%s ", $5 }' "$TSV")"
  done
done

# per variant: each slice's median over the rounds, then first 10 s / next 10 s (sums of the slice medians)
python3 - "$TSV" "$VARIANTS" <<'EOF' | tee "$OUT.md"
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
for v in sys.argv[2].split():
    rs = [r for r in rows if r["variant"] == v]
    if not rs: continue
    secs = sorted({int(r["second"]) for r in rs})
    med = {s: statistics.median(float(r["rps"]) for r in rs if int(r["second"]) == s) for s in secs}
    cpu = {s: statistics.median(float(r["cpu_us_per_req"]) for r in rs if int(r["second"]) == s) for s in secs}
    half = len(secs) // 2
    ratios, firsts, warms = [], [], []
    for rd in sorted({r["round"] for r in rs}):
        x = {int(r["second"]): float(r["rps"]) for r in rs if r["round"] == rd}
        # mean req/s of the first half's slices over the second half's, without the last slice (wrk's end cuts it short)
        a = statistics.mean(x.get(s, 0) for s in secs[:half]); b = statistics.mean(x.get(s, 0) for s in secs[half:-1])
        ratios.append(a / b if b else 0); firsts.append(a); warms.append(b)
    below = sum(1 for x in ratios if x < 0.95)
    print(f"## {v}: first/next ratio per round {' '.join(f'{x:.3f}' for x in ratios)}; median {statistics.median(ratios):.3f}; {below}/{len(ratios)} below 0.95")
    # a round's own warm window swings by +-5% (others' jobs, wrk and the loop sharing a core or not): each round's first
    # half over the median warm rate of all this variant's rounds is the same question with a steadier denominator
    mw = statistics.median(warms)
    pooled = [a / mw if mw else 0 for a in firsts]
    print(f"first half over the median warm rate ({mw/1000:.1f}k) per round {' '.join(f'{x:.3f}' for x in pooled)}; "
          f"median {statistics.median(pooled):.3f}; {sum(1 for x in pooled if x < 0.95)}/{len(pooled)} below 0.95")
    print()
    print("| second | " + " | ".join(str(s) for s in secs) + " |")
    print("|---|" + "--:|" * len(secs))
    print("| req/s (median) | " + " | ".join(f"{med[s]/1000:.0f}k" for s in secs) + " |")
    print("| CPU us/req | " + " | ".join(f"{cpu[s]:.1f}" for s in secs) + " |")
    for col, name in (("c1_ms", "C1 thread ms"), ("c2_ms", "C2 thread ms"), ("vm_ms", "VM thread (GC) ms"), ("other_ms", "other threads ms")):
        print(f"| {name} | " + " | ".join(f"{statistics.median(float(r[col]) for r in rs if int(r['second']) == s):.0f}" for s in secs) + " |")
    print()
EOF
