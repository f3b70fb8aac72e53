#!/usr/bin/env bash
# loadtest/warmup.sh: how fast is a fresh zcproxy in its first seconds? For each JVM set-up (JDK 17 or
# 25, GC, CDS / AOT cache from a training run), start a fresh zcproxy, serve one warmed 1 KiB hit with
# wrk for FIRST (10 s) right after the listener answers, then NEXT (10 s) more; the ratio first/next is
# the warm-up cost (issue 9 target: >= 0.95). Set-ups are interleaved per round, medians printed.
#
#   loadtest/warmup.sh                                   # all set-ups, 3 rounds (about 12 minutes)
#   SETUPS="jdk17 jdk25-aot" ROUNDS=5 loadtest/warmup.sh
#   FIRST=5s NEXT=5s ROUNDS=1 loadtest/warmup.sh         # a quick look
#
# Set-ups (name: JVM and options on top of bin/zcproxy's heap options):
#   jdk17          JDK 17 (java on PATH, or JDK17), the JVM's default GC (G1 on 2+ cores, 2+ GiB)
#   jdk17-serial   JDK 17, -XX:+UseSerialGC
#   jdk17-parallel JDK 17, -XX:+UseParallelGC
#   jdk17-cds      JDK 17, AppCDS archive dumped at the end of a training run (-XX:ArchiveClassesAtExit)
#   jdk17-cds-serial  the same with -XX:+UseSerialGC (bin/zcproxy's default on JDK 17: serial GC and its archive)
#   jdk25          JDK 25 (JDK25, default: the newest /usr/lib/jvm/*25*), default GC
#   jdk25-serial   JDK 25, -XX:+UseSerialGC
#   jdk25-aot      JDK 25, AOT cache (classes loaded+linked, method profiles) from a training run
#                  (-XX:AOTCacheOutput, JEP 483/514/515), then -XX:AOTCache
#   jdk25-aot-serial  the same with -XX:+UseSerialGC
#   jdk25-zgc      JDK 25, -XX:+UseZGC (generational) with the same small heap
#   jdk17-serial-cts  JDK 17, serial, -XX:CompileThresholdScaling=0.25 (the JIT compiles after a quarter
#                  of the usual invocation counts)
#   jdk17-serial-c1   JDK 17, serial, -XX:TieredStopAtLevel=1 (C1 only: no C2 warm-up, lower peak)
#   jdk17-serial-cts05  JDK 17, serial, -XX:CompileThresholdScaling=0.5
#   jdk17-serial-t4   JDK 17, serial, C2 sooner, C1 as usual (-XX:Tier4InvocationThreshold=1500
#                  -XX:Tier4MinInvocationThreshold=200 -XX:Tier4CompileThreshold=4000)
#   jdk17-serial-ci3  JDK 17, serial, -XX:CICompilerCount=3 (two C2 compiler threads instead of one)
#   jdk17-serial-pretouch  JDK 17, serial, -XX:+AlwaysPreTouch (the heap's pages faulted in at start)
#   jdk25-aot-serial-cts05  JDK 25, serial, AOT cache (as jdk25-aot), -XX:CompileThresholdScaling=0.5
#   jdk25-aot-serial-noreplay  JDK 25, serial, the AOT cache's classes without its method profiles
#                  (-XX:-AOTReplayTraining: the JIT compiles as without a cache)
# Every zcproxy is started through bin/zcproxy (JAVA_HOME, ZCPROXY_JAVA_OPTS = HEAP_OPTS, by default bin/zcproxy's own
# options for that java less its GC (lib/common.sh's launcher_opts), + the set-up's
# GC, ZCPROXY_AOT_CACHE for the archive set-ups), so what is measured is what bin/zcproxy runs. A training
# run serves TRAIN (20 s) of hits and 2 s of passes, then stops with SIGTERM (the archive is written at exit). Results: results/WARMUP-<date>-<commit>.md (+ .tsv); nothing is committed for you.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=lib/common.sh
. "$HERE/lib/common.sh"

FIRST=${FIRST:-10s}
NEXT=${NEXT:-10s}
TRAIN=${TRAIN:-20s}
ROUNDS=${ROUNDS:-3}
SIZE=${SIZE:-1k}
CONNS=${CONNS:-1x16}
SETUPS=${SETUPS:-jdk17 jdk17-serial jdk17-parallel jdk17-cds jdk25 jdk25-serial jdk25-aot jdk25-aot-serial jdk25-zgc}
HEAP_OPTS=${HEAP_OPTS:-} # empty: bin/zcproxy's defaults for the set-up's java (launcher_opts) less its GC (the set-up's)
JDK17=${JDK17:-java}
JDK25=${JDK25:-}
if [[ -z $JDK25 ]]; then
  for d in /usr/lib/jvm/*25*; do [[ -x $d/bin/java ]] && JDK25=$d/bin/java; done
fi
ORIGIN_PORT=${ORIGIN_PORT:-18281}
ZCPROXY_ADMIN_PORT=${ZCPROXY_ADMIN_PORT:-18290}
ZCPROXY_PORT=${ZCPROXY_PORT:-18280}
JAR=${JAR:-$ROOT/proxy/target/zcproxy.jar}
INSTALL=${INSTALL:-1}
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo nocommit)
OUT=${OUT:-$HERE/results/WARMUP-$(date +%Y%m%d-%H%M)-$COMMIT}
WORK=$(mktemp -d /tmp/zcproxy-warmup.XXXXXX)

ORIGIN_PID= PROXY_PID=
cleanup() {
  trap "" INT TERM
  [[ -n $PROXY_PID ]] && stop_pid "$PROXY_PID" zcproxy
  [[ -n $ORIGIN_PID ]] && stop_pid "$ORIGIN_PID" origin
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need wrk wrk || die "wrk not found (apt-get install wrk)"
need curl curl || die "curl not found"
[[ -f $JAR ]] || die "no $JAR (mvn -B -q -DskipTests package)"

# setup NAME -> "JAVA|OPTS" (empty when the JDK is missing)
java_of() { case $1 in jdk17*) echo "$JDK17" ;; jdk25*) echo "$JDK25" ;; esac; }
opts_of() {
  case $1 in
    jdk17 | jdk25) echo "" ;;
    *-serial) echo "-XX:+UseSerialGC" ;;
    *-serial-cts) echo "-XX:+UseSerialGC -XX:CompileThresholdScaling=0.25" ;;
    *-serial-c1) echo "-XX:+UseSerialGC -XX:TieredStopAtLevel=1" ;;
    *-serial-cts05) echo "-XX:+UseSerialGC -XX:CompileThresholdScaling=0.5" ;;
    *-serial-t4) echo "-XX:+UseSerialGC -XX:Tier4InvocationThreshold=1500 -XX:Tier4MinInvocationThreshold=200 -XX:Tier4CompileThreshold=4000" ;;
    *-serial-ci3) echo "-XX:+UseSerialGC -XX:CICompilerCount=3" ;;
    *-serial-pretouch) echo "-XX:+UseSerialGC -XX:+AlwaysPreTouch" ;;
    *-serial-noreplay) echo "-XX:+UseSerialGC -XX:+UnlockDiagnosticVMOptions -XX:-AOTReplayTraining" ;;
    *-parallel) echo "-XX:+UseParallelGC" ;;
    *-zgc) echo "-XX:+UseZGC" ;;
    *) echo "" ;;
  esac
}
archive_of() { # the set-up's trained archive file, or nothing
  case $1 in
    jdk17-cds*) echo "$WORK/app17.jsa" ;;
    jdk25-aot*) echo "$WORK/app25.aot" ;;
  esac
}
start_proxy() { # SETUP OPTS... : a fresh zcproxy through bin/zcproxy on an empty cache dir; sets PROXY_PID and
  # START_MS (exec to first answer). The set-up's archive (ZCPROXY_AOT_CACHE) is written at exit when
  # missing and used when present, as bin/zcproxy does it.
  local setup=$1 java home opts; shift
  java=$(java_of "$setup")
  opts=${HEAP_OPTS:-$(launcher_opts "$java")} || return 1
  opts=${opts//-XX:+UseSerialGC/}
  home=$(java_home "$java")
  rm -rf "$WORK/cache"; mkdir -p "$WORK/cache"
  local t0; t0=$(date +%s%N)
  # ZCPROXY_CDS=off: a set-up without an archive runs without bin/zcproxy's default one
  JAVA_HOME=$home ZCPROXY_JAR=$JAR ZCPROXY_JAVA_OPTS="$opts $*" ZCPROXY_AOT_CACHE=$(archive_of "$setup") ZCPROXY_CDS=off \
    "$ROOT/bin/zcproxy" --listen "127.0.0.1:$ZCPROXY_PORT" --origin "http://127.0.0.1:$ORIGIN_PORT" \
    --cache-dir "$WORK/cache" --cache-size 1GiB --admin "127.0.0.1:$ZCPROXY_ADMIN_PORT" --access-log off >>"$WORK/zcproxy.log" 2>&1 &
  PROXY_PID=$!
  wait_http "http://127.0.0.1:$ZCPROXY_PORT/" 60 "$PROXY_PID" || { log "zcproxy did not start: $(tail -3 "$WORK/zcproxy.log")"; return 1; }
  START_MS=$((($(date +%s%N) - t0) / 1000000))
}

wrk_rps() { # DURATION SCENARIO: req/s of one wrk run against the proxy
  local th=${CONNS%x*} co=${CONNS#*x} line
  line=$(wrk -t"$th" -c"$co" -d"$1" -s "$HERE/scenarios/$2.lua" "http://127.0.0.1:$ZCPROXY_PORT" -- size="$SIZE" 2>&1 | grep '^ZCRESULT' || true)
  awk -v line="$line" 'BEGIN { n = split(line, kv, " "); for (i = 2; i <= n; i++) { split(kv[i], p, "="); v[p[1]] = p[2] }
    printf "%.0f", (v["duration_us"] > 0 ? v["requests"] / (v["duration_us"] / 1e6) : 0) }'
}

log "starting demo origin on 127.0.0.1:$ORIGIN_PORT"
mkdir -p "$WORK/data"
start_origin "$JAR" "127.0.0.1:$ORIGIN_PORT" "$WORK/data" "$(nproc)" "$SIZE" "$WORK/origin.log" || die "origin did not start"

ACTIVE=()
for s in $SETUPS; do
  j=$(java_of "$s")
  if [[ -z $j ]] || ! "$j" -version >/dev/null 2>&1; then log "skipping $s: no JDK for it"; continue; fi
  arch=$(archive_of "$s")
  if [[ -n $arch && ! -f $arch ]]; then
    log "training run for $s ($TRAIN of hits, 2 s of passes)"
    # shellcheck disable=SC2046
    if start_proxy "$s" $(opts_of "$s"); then
      curl -s -o /dev/null "http://127.0.0.1:$ZCPROXY_PORT/files/$SIZE"
      wrk_rps "$TRAIN" hit >/dev/null
      wrk_rps 2s pass >/dev/null
      # The archive is written at exit (JDK 25 assembles the AOT cache in a child JVM): give it time.
      kill -TERM "$PROXY_PID" 2>/dev/null || true
      for ((i = 0; i < 1800; i++)); do kill -0 "$PROXY_PID" 2>/dev/null || break; sleep 0.1; done
      stop_pid "$PROXY_PID" zcproxy; wait "$PROXY_PID" 2>/dev/null || true; PROXY_PID=
    fi
    [[ -f $arch ]] || { log "skipping $s: the training run wrote no $arch (see $WORK/zcproxy.log)"; continue; }
  fi
  ACTIVE+=("$s")
done
((${#ACTIVE[@]} > 0)) || die "no set-up to measure"

TSV=$OUT.tsv
mkdir -p "$(dirname "$OUT")"
TICKS=$(getconf CLK_TCK)
printf 'round\tsetup\tstart_ms\tfirst_rps\tnext_rps\tratio\trss_mb\tfirst_cpu_us\tnext_cpu_us\tcpu_ratio\n' >"$TSV"
for ((round = 1; round <= ROUNDS; round++)); do
  order=("${ACTIVE[@]:$(((round - 1) % ${#ACTIVE[@]}))}" "${ACTIVE[@]:0:$(((round - 1) % ${#ACTIVE[@]}))}")
  for s in "${order[@]}"; do
    # shellcheck disable=SC2046
    start_proxy "$s" $(opts_of "$s") || { stop_pid "$PROXY_PID" zcproxy; PROXY_PID=; continue; }
    ms=$START_MS
    curl -s -o /dev/null "http://127.0.0.1:$ZCPROXY_PORT/files/$SIZE"  # the miss that stores it
    c0=$(cpu_ticks "$PROXY_PID")
    r1=$(wrk_rps "$FIRST" hit)
    c1=$(cpu_ticks "$PROXY_PID")
    r2=$(wrk_rps "$NEXT" hit)
    c2=$(cpu_ticks "$PROXY_PID")
    rss=$(awk '/^VmHWM:/ {printf "%.0f", $2 / 1024}' "/proc/$PROXY_PID/status" 2>/dev/null || echo 0)
    stop_pid "$PROXY_PID" zcproxy; wait "$PROXY_PID" 2>/dev/null || true; PROXY_PID=
    ratio=$(awk -v a="$r1" -v b="$r2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
    # proxy CPU per request in each window (us) and next/first: the warm-up cost as CPU, which holds better
    # than req/s when other jobs share the cores (FIRST and NEXT in seconds, e.g. 10s)
    cpu=$(awk -v a="$r1" -v b="$r2" -v x="$((c1 - c0))" -v y="$((c2 - c1))" -v f="${FIRST%s}" -v n="${NEXT%s}" -v hz="$TICKS" \
      'BEGIN { u = (a > 0 ? x / hz * 1e6 / (a * f) : 0); w = (b > 0 ? y / hz * 1e6 / (b * n) : 0); printf "%.1f\t%.1f\t%.3f", u, w, (u > 0 ? w / u : 0) }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$s" "$ms" "$r1" "$r2" "$ratio" "$rss" "$cpu" >>"$TSV"
    log "r$round $s: started in ${ms} ms; first $FIRST ${r1} req/s, next $NEXT ${r2} req/s, ratio $ratio, peak RSS ${rss} MB; CPU us/req first, next, next/first: $cpu"
  done
done

{
  echo "# zcproxy warm-up: first $FIRST vs next $NEXT of $SIZE hits, wrk $CONNS"
  echo
  echo '```'
  echo "date: $(date -Is)  commit: $COMMIT  cpus: $(nproc)  loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "jdk17: $("$JDK17" -version 2>&1 | head -1)"
  [[ -n $JDK25 ]] && echo "jdk25: $("$JDK25" -version 2>&1 | head -1)"
  echo "JVM options (all set-ups, before the set-up's): ${HEAP_OPTS:-$(launcher_opts "$JDK17")} (less -XX:+UseSerialGC)"
  echo '```'
  echo
  echo "Medians over $ROUNDS rounds. *ratio*: first/next req/s (target >= 0.95); *start*: ms from exec to the"
  echo "first answer; *warm req/s*: the next $NEXT; *CPU us/req*: the proxy's CPU per request in the first and the"
  echo "next window; *CPU ratio*: next/first (what the ratio would be if the proxy had a core to itself)."
  echo
  echo "| set-up | start ms | first req/s | warm req/s | ratio | peak RSS MB | CPU us/req first | next | CPU ratio |"
  echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|"
  awk -F'\t' 'function med(l, a, n, i, j, x) { n = split(l, a, " "); for (i = 2; i <= n; i++) { x = a[i] + 0; j = i - 1
      while (j >= 1 && a[j] + 0 > x) { a[j + 1] = a[j]; j-- } a[j + 1] = x }
      return n == 0 ? 0 : ((n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2) }
    NR > 1 { if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 }
      ms[$2] = ms[$2] " " $3; f[$2] = f[$2] " " $4; w[$2] = w[$2] " " $5; r[$2] = r[$2] " " $6; m[$2] = m[$2] " " $7
      cf[$2] = cf[$2] " " $8; cn[$2] = cn[$2] " " $9; cr[$2] = cr[$2] " " $10 }
    END { for (i = 1; i <= n; i++) { s = order[i]
      printf "| %s | %.0f | %.0f | %.0f | %.3f | %.0f | %.1f | %.1f | %.3f |\n", s, med(ms[s]), med(f[s]), med(w[s]), med(r[s]), med(m[s]),
        med(cf[s]), med(cn[s]), med(cr[s]) } }' "$TSV"
} >"$OUT.md"
cat "$OUT.md"
log "written: $OUT.md, $TSV"
