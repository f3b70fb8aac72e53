#!/usr/bin/env bash
# loadtest/knobs.sh: interleaved A/B of zcproxy variants (a jar, JVM options, extra YAML) on hit/pass cells,
# zcproxy alone (no nginx/Varnish/HAProxy): MB/s, CPU per GB (the proxy's, and the whole machine's: wrk and
# origin included) per variant, medians over rounds, and the ratio to the first variant. Each variant runs in a
# fresh JVM (so a YAML or -D knob needs no restart logic); the variant order is reversed every other round.
# Used for the large-hit knobs of issue 9 (results/LARGE-2026-12-02.md).
#
#   VARIANTS="base loops1" V_loops1_YAML='listen:\n  event-loops: 1\n' loadtest/knobs.sh
#   VARIANTS="before after" V_before_JAR=/tmp/before.jar CELLS="hit:256k:1x16 pass:1k:1x16" loadtest/knobs.sh
#
# Per variant NAME: V_NAME_JAR (default proxy/target/zcproxy.jar), V_NAME_OPTS (JVM options added after
# ZCPROXY_JAVA_OPTS, by default bin/zcproxy's own: lib/common.sh's launcher_opts), V_NAME_YAML (YAML appended to the config; printf escapes such as \n work), V_NAME_JAVA
# (the java binary, default java on PATH: e.g. V_jdk25_JAVA=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java).
# CELLS: SCENARIO:SIZE:THREADSxCONNECTIONS (scenarios/<SCENARIO>.lua with size=SIZE). zipf and storm cells start
# cold as in run.sh: every measured run and its warm-up get a fresh salt (e.g. CELLS="zipf:10000:1x16 zipf:10000:2x128").
# keys cells are warm as in run.sh: each process fetches every key of the cell's size once (curl) before the cell's
# warm-up (e.g. CELLS="keys:1k:1x16 keys:4k:2x128"). Each row also has the proxy's peak RSS (VmHWM) at the cell's end.
# Each row also has the CPU of the JVM's C2 compiler thread(s) during the cell (c2_cpu_s): what the JIT still compiles there.
# METRICS_OUT=FILE: after each cell, append the proxy's RAM-tier and response-mode counters (cumulative) to FILE.
# PROFILE_DIR=DIR with ASPROF=<async-profiler's asprof>: profile the proxy through each measured cell (-e cpu: Java,
# JIT, GC and kernel frames) into DIR/r<round>-<variant>-<scenario>-<size>-<conns>.collapsed; lib/collapsed.py sums
# one by where the time goes. Profiling costs the proxy a little CPU: compare profiled rows with profiled rows.
# PROFILE_EVENT (default cpu) and PROFILE_INTERVAL (default 1ms) pass through to asprof's -e and -i; PROFILE_THREADS=1
# adds -t (each stack starts with its thread's name: what runs off the event loops); PROFILE_OPTS adds more of asprof's
# options (e.g. -a: each Java frame marked _[0] interpreted, _[1] C1, _[j] C2, _[i] inlined: what is still not in C2).
# STRACE_DIR=DIR: after each measured cell, 2 s more of it under `strace -c -f` into DIR/r<round>-<variant>-<cell>.strace,
# the wrk result of those 2 s beside it (.wrk): syscalls per request (strace slows the proxy: its rates mean nothing).
# CELL_TIMES=FILE: append "round variant cell start end" (epoch seconds) per measured cell; with a JFR recording of
# compilations (V_NAME_OPTS='-XX:StartFlightRecording=filename=F.jfr,settings=loadtest/lib/compiles.jfc') lib/compiles.py
# sums what the JIT compiled in each cell by package (is the compiler's share a library's first compiles, or ours?).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=lib/common.sh
. "$HERE/lib/common.sh"

VARIANTS=${VARIANTS:-base}
CELLS=${CELLS:-hit:256k:1x16 hit:256k:2x128 hit:1m:1x16 hit:1m:2x128 hit:100m:1x16}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-3s}
KEYS=10000 # keys.lua's default: keys cells get every key once (curl) before their wrk warm-up
ORIGIN_PORT=${ORIGIN_PORT:-18481}
ZCPROXY_PORT=${ZCPROXY_PORT:-18480}
ZCPROXY_ADMIN_PORT=${ZCPROXY_ADMIN_PORT:-18490}
ZCPROXY_JAVA_OPTS=${ZCPROXY_JAVA_OPTS:-$(launcher_opts)} # empty: bin/zcproxy's defaults (lib/common.sh)
OUT=${OUT:-/tmp/zcproxy-knobs-$(date +%Y%m%d-%H%M%S).tsv}
WORK=$(mktemp -d /tmp/zcproxy-knobs.XXXXXX)

ORIGIN_PID= PROXY_PID=
cleanup() {
  trap "" INT TERM
  [[ -n $PROXY_PID ]] && stop_pid "$PROXY_PID" zcproxy
  [[ -n $ORIGIN_PID ]] && stop_pid "$ORIGIN_PID" origin
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need wrk wrk || die "wrk not found"
sizes=$(for c in $CELLS; do IFS=: read -r _ s _ <<<"$c"; echo "$s"; done | sort -u | paste -sd, -)
# the demo origin runs from the first variant's jar (any name: a kit without proxy/target has no other jar)
first_jar=V_${VARIANTS%% *}_JAR
start_origin "${!first_jar:-$ROOT/proxy/target/zcproxy.jar}" "127.0.0.1:$ORIGIN_PORT" "$WORK/data" "$(nproc)" "$sizes" \
  "$WORK/origin.log" || die "origin did not start"
TICKS=$(getconf CLK_TCK)
printf 'round\tvariant\tscenario\tsize\tconns\trequests\tbytes\tduration_s\tcpu_s\torigin_reqs\tmachine_cpu_s\tpeak_rss_mb\tp99_ms\tc2_cpu_s\n' >"$OUT"
# busy_ticks: the whole machine's busy CPU ticks (wrk, origin and proxy together, softirq included): on loopback
# some of a sender's work runs in the receiver's context and the other way round, so a knob that moves work
# between them shows in the proxy's own CPU but not here
# c2_ticks PID: CPU ticks of the JVM's C2 compiler threads (a thread the JVM stopped takes its ticks with it)
c2_ticks() {
  local f stat t=0
  for f in /proc/"$1"/task/*/stat; do
    stat=$(<"$f") 2>/dev/null || continue
    case $stat in *"(C2 CompilerThre"*) set -- ${stat##*) }; t=$((t + ${12} + ${13})) ;; esac
  done
  echo "$t"
}
busy_ticks() { awk '/^cpu /{ print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
# salt_arg SCENARIO TAG: a fresh salt for the scenarios that start cold (their keys are new to every run)
salt_arg() { case $1 in zipf | storm) echo "salt=$2-$RANDOM$RANDOM" ;; esac; }
# warm_keys BASE SIZE: each of keys.lua's KEYS (10,000) URLs of that size once, 4 parallel curls (run.sh's warm_keys)
warm_keys() {
  local q=$((KEYS / 4)) i lo hi pids=()
  for ((i = 0; i < 4; i++)); do
    lo=$((i * q)); hi=$(((i == 3) ? KEYS - 1 : (i + 1) * q - 1))
    curl -s "$1/bytes/$2?k=[$lo-$hi]&e=0" >/dev/null &
    pids+=($!)
  done
  wait "${pids[@]}"
}
base=http://127.0.0.1:$ZCPROXY_PORT
for ((round = 1; round <= ROUNDS; round++)); do
  order=$VARIANTS
  ((round % 2 == 0)) && order=$(printf '%s\n' $VARIANTS | tac | paste -sd' ' -)
  for v in $order; do
    jar_var=V_${v}_JAR opts_var=V_${v}_OPTS yaml_var=V_${v}_YAML java_var=V_${v}_JAVA
    # The last variant's cache is moved aside, not deleted: /tmp here is ext4 without a journal, whose inode allocator
    # skips every inode freed in the last 60 s (360 s while its inode-table block is dirty; recently_deleted, one
    # look-up of that block per candidate), so a cache deleted just before the next variant starts makes each new cache
    # file's create walk past thousands of them (find_inode_bit: 10.4% of a Zipf c16 cell's proxy CPU in
    # results/MISS-2026-12-04d.md). They all go at exit with $WORK (so the disk holds VARIANTS x ROUNDS caches until
    # then: a few GB with 100 MiB cells). Others' deletions on the same file system still count.
    [[ -d $WORK/cache ]] && mv "$WORK/cache" "$WORK/spent-$round-$v"
    printf 'logging:\n  access-log: "off"\n%b' "${!yaml_var:-}" >"$WORK/zcproxy.yaml"
    # shellcheck disable=SC2086
    "${!java_var:-java}" $ZCPROXY_JAVA_OPTS ${!opts_var:-} -jar "${!jar_var:-$ROOT/proxy/target/zcproxy.jar}" --config "$WORK/zcproxy.yaml" \
      --listen "127.0.0.1:$ZCPROXY_PORT" --origin "http://127.0.0.1:$ORIGIN_PORT" --cache-dir "$WORK/cache" \
      --cache-size 2GiB --admin "127.0.0.1:$ZCPROXY_ADMIN_PORT" >"$WORK/zcproxy-$v.log" 2>&1 &
    PROXY_PID=$!
    wait_http "$base/" 60 "$PROXY_PID" || die "zcproxy ($v) did not start: $(tail -2 "$WORK/zcproxy-$v.log")"
    warmed=" "
    for c in $CELLS; do
      IFS=: read -r sc size _ <<<"$c"
      [[ $sc == hit ]] && curl -s -o /dev/null "$base/files/$size"
      if [[ $sc == keys && $warmed != *" $size "* ]]; then # every key once, as run.sh: the keys cells measure warm hits
        warm_keys "$base" "$size"
        warmed+="$size "
      fi
      # shellcheck disable=SC2046
      wrk -t1 -c16 -d"$WARMUP" -s "$HERE/scenarios/$sc.lua" "$base" -- size="$size" $(salt_arg "$sc" "warm-$v") >/dev/null 2>&1 || true
    done
    for c in $CELLS; do
      IFS=: read -r sc size conns <<<"$c"
      prof=
      if [[ -n ${PROFILE_DIR:-} ]]; then
        mkdir -p "$PROFILE_DIR"
        "${ASPROF:?set ASPROF to the asprof of async-profiler}" -d "${DURATION%s}" -e "${PROFILE_EVENT:-cpu}" -i "${PROFILE_INTERVAL:-1ms}" \
          ${PROFILE_THREADS:+-t} ${PROFILE_OPTS:-} -o collapsed -f "$PROFILE_DIR/r$round-$v-$sc-$size-$conns.collapsed" "$PROXY_PID" >/dev/null 2>&1 &
        prof=$!
      fi
      c0=$(cpu_ticks "$PROXY_PID") j0=$(c2_ticks "$PROXY_PID") o0=$(origin_total "127.0.0.1:$ORIGIN_PORT") m0=$(busy_ticks)
      t0=$(date +%s.%N)
      # shellcheck disable=SC2046
      line=$(wrk -t"${conns%x*}" -c"${conns#*x}" -d"$DURATION" --timeout 60s -s "$HERE/scenarios/$sc.lua" "$base" \
        -- size="$size" $(salt_arg "$sc" "r$round-$v-$conns") 2>&1 | grep '^ZCRESULT' || true)
      t1=$(date +%s.%N)
      c1=$(cpu_ticks "$PROXY_PID") j1=$(c2_ticks "$PROXY_PID") o1=$(origin_total "127.0.0.1:$ORIGIN_PORT") m1=$(busy_ticks)
      [[ -n $prof ]] && { wait "$prof" || true; }
      [[ -n ${CELL_TIMES:-} ]] && echo "$round $v $sc:$size:$conns $t0 $t1" >>"$CELL_TIMES"
      awk -v line="$line" -v r="$round" -v v="$v" -v sc="$sc" -v size="$size" -v conns="$conns" -v cpu="$(((c1 - c0)))" -v hz="$TICKS" -v o="$((${o1:-0} - ${o0:-0}))" -v m="$((m1 - m0))" -v hwm="$(hwm_kb "$PROXY_PID")" -v c2="$((j1 - j0))" '
        BEGIN { n = split(line, kv, " "); for (i = 2; i <= n; i++) { split(kv[i], p, "="); x[p[1]] = p[2] }
          printf "%s\t%s\t%s\t%s\t%s\t%.0f\t%.0f\t%.2f\t%.2f\t%d\t%.2f\t%.0f\t%.2f\t%.2f\n", r, v, sc, size, conns, x["requests"], x["bytes"],
            x["duration_us"] / 1e6, cpu / hz, o, m / hz, hwm / 1024, x["p99_us"] / 1000, c2 / hz }' | tee -a "$OUT" >&2
      if [[ -n ${STRACE_DIR:-} ]]; then # syscalls per request: 2 s more of the cell under strace -c (slower: counts, not rates)
        mkdir -p "$STRACE_DIR"
        st="$STRACE_DIR/r$round-$v-$sc-$size-$conns"
        strace -c -f -p "$PROXY_PID" -o "$st.strace" 2>/dev/null &
        spid=$!
        sleep 0.5
        # shellcheck disable=SC2046
        wrk -t"${conns%x*}" -c"${conns#*x}" -d2s --timeout 60s -s "$HERE/scenarios/$sc.lua" "$base" \
          -- size="$size" $(salt_arg "$sc" "s$round-$v-$conns") 2>&1 | grep '^ZCRESULT' >"$st.wrk" || true
        kill -INT "$spid" 2>/dev/null || true
        wait "$spid" 2>/dev/null || true
      fi
      if [[ -n ${METRICS_OUT:-} ]]; then # the RAM tier's and the response modes' counters, cumulative, after each cell
        curl -s --max-time 5 "http://127.0.0.1:$ZCPROXY_ADMIN_PORT/metrics" |
          grep -E '^zcproxy_(responses_total\{mode=|ram_)' | grep -v ' 0\.0$' | sed "s/^/$round $v $sc:$size:$conns /" >>"$METRICS_OUT" || true
      fi
    done
    stop_pid "$PROXY_PID" zcproxy
    wait "$PROXY_PID" 2>/dev/null || true
    PROXY_PID=
  done
done

# medians per cell and variant, ratios to the first variant
awk -F'\t' -v first="${VARIANTS%% *}" '
  function maxof(list,    a, n, i, m) { n = split(list, a, " "); m = 0; for (i = 1; i <= n; i++) if (a[i] + 0 > m) m = a[i] + 0; return m }
  function median(list,    a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) { t = a[i] + 0; j = i - 1; while (j >= 1 && a[j] + 0 > t) { a[j + 1] = a[j]; j-- } a[j + 1] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  NR == 1 { next }
  { k = $3 " " $4 " " $5; if (!(k in seen)) { seen[k] = 1; cells[++nc] = k }
    if (!($2 in vs)) { vs[$2] = 1; vl[++nv] = $2 }
    mb = $7 / $8 / 1e6; mbs[k, $2] = mbs[k, $2] " " mb
    if ($7 > 0) { gb[k, $2] = gb[k, $2] " " $9 / ($7 / 1e9); if (NF >= 11) mgb[k, $2] = mgb[k, $2] " " $11 / ($7 / 1e9) }
    if ($6 > 0) { rps[k, $2] = rps[k, $2] " " $6 / $8; c10k[k, $2] = c10k[k, $2] " " $9 / $6 * 10000; opr[k, $2] = opr[k, $2] " " $10 / $6 }
    if ($10 > 0) cpm[k, $2] = cpm[k, $2] " " $9 / $10 * 1000
    if (NF >= 12 && $12 > 0) rss[k, $2] = rss[k, $2] " " $12
    if (NF >= 13 && $13 > 0) p99[k, $2] = p99[k, $2] " " $13
    if (NF >= 14) c2s[k, $2] = c2s[k, $2] " " $14 }
  END {
    printf "| cell | variant | MB/s | vs %s | CPU s/GB | vs %s | all CPU s/GB | req/s | CPU s/10k req | origin req/req | CPU ms/origin req | peak RSS MB (max) | p99 ms | C2 CPU s |\n|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n", first, first
    for (c = 1; c <= nc; c++) {
      k = cells[c]; bm = median(mbs[k, first]); bg = median(gb[k, first])
      for (i = 1; i <= nv; i++) {
        v = vl[i]; if (!((k, v) in mbs)) continue
        m = median(mbs[k, v]); g = median(gb[k, v])
        printf "| %s | %s | %.0f | %s | %.3f | %s | %s | %.0f | %.3f | %.3f | %s | %s | %s | %s |\n", k, v, m, (bm > 0 ? sprintf("%.2fx", m / bm) : "-"), g,
          (bg > 0 ? sprintf("%.2fx", g / bg) : "-"), ((k, v) in mgb ? sprintf("%.3f", median(mgb[k, v])) : "-"),
          median(rps[k, v]), median(c10k[k, v]), median(opr[k, v]),
          ((k, v) in cpm ? sprintf("%.3f", median(cpm[k, v])) : "-"), ((k, v) in rss ? sprintf("%.0f (%.0f)", median(rss[k, v]), maxof(rss[k, v])) : "-"),
          ((k, v) in p99 ? sprintf("%.2f", median(p99[k, v])) : "-"), ((k, v) in c2s ? sprintf("%.2f", median(c2s[k, v])) : "-")
      }
    }
  }' "$OUT"
log "raw rows: $OUT (machine load at end: $(cut -d' ' -f1-3 /proc/loadavg))"
