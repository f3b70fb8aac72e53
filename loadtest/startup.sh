#!/usr/bin/env bash
# Start-up time: exec of bin/zcproxy to its first response (any status; the origin is a closed port, so
# it is a 502 made by the proxy), with an empty cache, for each set-up; medians of ROUNDS interleaved
# starts. Per start: wall ms, CPU ms of the process at the first response (robust on a shared machine),
# and the proxy's own "started in" line (wall/CPU to the listener and admin). Run it on a quiet machine
# for wall times.
#
#   loadtest/startup.sh                                  # jdk17-nocds jdk17 jdk25-nocds jdk25, 5 rounds
#   BEFORE_JAR=/tmp/old.jar SETUPS="before17 jdk17" ROUNDS=7 loadtest/startup.sh
#   BEFORE_JAR=/tmp/old.jar SETUPS="before17-cds jdk17" ROUNDS=7 loadtest/startup.sh   # both with their archive
#   SETUPS="jdk17 jdk17-nowarm" loadtest/startup.sh         # -nowarm: -Dzcproxy.warm=false (no StartupWarmer)
#   OUT=loadtest/results/STARTUP-x.md loadtest/startup.sh
#
# Set-ups: jdkNN = bin/zcproxy's default (its class-data archive, written by a priming start in a
# directory of this run's own); jdkNN-nocds = ZCPROXY_CDS=off; beforeNN = BEFORE_JAR with ZCPROXY_CDS=off;
# beforeNN-cds = BEFORE_JAR with bin/zcproxy's default archive (primed like jdkNN's, in a directory of its own);
# jdkNN-trained = bin/zcproxy's default archive, written by a priming start that served TRAIN of traffic
# (a miss, wrk hits, 2 s of passes, through a demo origin on PORT+2) instead of one 502;
# jdkNN-aot = ZCPROXY_AOT_CACHE (JDK 25: AOT cache with method profiles) from such a trained priming start;
# jdkNN-aot-noreplay = the same without replaying its method profiles (-XX:-AOTReplayTraining, a diagnostic flag);
# jdkNN-cdsaot = bin/zcproxy's kept archive with ZCPROXY_CDS=aot (JDK 25: an AOT cache) from a trained priming start.
# Env: JAR (proxy/target/zcproxy.jar), JDK17, JDK25 (homes), ROUNDS (5), PORT (18380), ADMIN_PORT (PORT+1),
# THREADS=1 logs each start's CPU per thread at its first response (main, event loops, C1/C2 compiler threads...).
# Talks to 127.0.0.1 only; stops only the processes it started, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
. loadtest/lib/common.sh

JAR=${JAR:-$PWD/proxy/target/zcproxy.jar}
JDK17=${JDK17:-/usr/lib/jvm/java-17-openjdk-amd64}
JDK25=${JDK25:-/usr/lib/jvm/temurin-25-jdk-amd64}
SETUPS=${SETUPS:-jdk17-nocds jdk17 jdk25-nocds jdk25}
ROUNDS=${ROUNDS:-5}
PORT=${PORT:-18380}
ADMIN_PORT=${ADMIN_PORT:-$((PORT + 1))}
[[ -f $JAR ]] || die "no jar at $JAR (mvn package)"
ORIGIN_PORT=${ORIGIN_PORT:-$((PORT + 2))}
TRAIN=${TRAIN:-10s}
WORK=$(mktemp -d /tmp/zcproxy-startup.XXXXXX)
PID= ORIGIN_PID=
cleanup() { stop_pid "$PID" zcproxy; stop_pid "$ORIGIN_PID" origin; rm -rf "$WORK"; }
trap cleanup EXIT

ms() { date +%s%3N; }
# thread_cpu PID: CPU ms per thread name (numbers at the end dropped: C2 CompilerThread0 and 1 are one), largest first
thread_cpu() {
  local t stat rest
  for t in /proc/"$1"/task/*; do
    stat=$(cat "$t/stat" 2>/dev/null) || continue
    rest=${stat##*) }
    stat=${stat#*(}
    stat=${stat%%)*}
    # shellcheck disable=SC2086 # the fields after "pid (comm) "
    set -- $rest
    echo "${stat// /_} $((${12} + ${13}))"
  done | awk -v hz="$(getconf CLK_TCK)" '{ n = $1; sub(/-?[0-9]+$/, "", n); a[n] += $2 }
    END { for (k in a) if (a[k] > 0) printf "%d %s=%d\n", a[k], k, a[k] * 1000 / hz }' | sort -rn | cut -d' ' -f2 | paste -sd' '
}
# one SETUP: prints "wall_ms cpu_ms started_wall started_cpu"
start_one() {
  local setup=$1 origin=${2:-http://127.0.0.1:9} jdk jar=$JAR cds=on tool= aot= i code=000 t0 wall cpu st
  case $setup in
    *17*) jdk=$JDK17 ;;
    *25*) jdk=$JDK25 ;;
    *) die "set-up $setup: no JDK in its name" ;;
  esac
  case $setup in
    before*-cds) jar=${BEFORE_JAR:?BEFORE_JAR is needed for $setup} ;; # BEFORE_JAR with bin/zcproxy's archive (its own)
    before*) jar=${BEFORE_JAR:?BEFORE_JAR is needed for $setup}; cds=off ;;
    *-nocds) cds=off ;;
    *-aot | *-aot-*) cds=off; aot=$WORK/aot-$setup ;;
    *-cdsaot) cds=aot ;;
  esac
  case $setup in
    *-nowarm) tool=-Dzcproxy.warm=false ;; # StartupWarmer off (same jar)
    *-noreplay) tool="-XX:+UnlockDiagnosticVMOptions -XX:-AOTReplayTraining" ;; # the AOT cache's classes, not its method profiles
  esac
  if ss -ltn | grep -q ":$PORT "; then die "port $PORT is taken"; fi
  rm -rf "$WORK/cache"
  t0=$(ms)
  env ${tool:+"JAVA_TOOL_OPTIONS=$tool"} ${aot:+ZCPROXY_AOT_CACHE=$aot} JAVA_HOME=$jdk ZCPROXY_JAR=$jar ZCPROXY_CDS=$cds ZCPROXY_CDS_DIR="$WORK/cds-$setup" \
    bin/zcproxy --listen "127.0.0.1:$PORT" --admin "127.0.0.1:$ADMIN_PORT" --origin "$origin" \
    --cache-dir "$WORK/cache" >"$WORK/log" 2>&1 &
  PID=$!
  for ((i = 0; i < 12000; i++)); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$PORT/x" || true)
    [[ $code != 000 ]] && break
    kill -0 "$PID" 2>/dev/null || die "zcproxy ($setup) died: $(tail -3 "$WORK/log")"
    sleep 0.005
  done
  wall=$(( $(ms) - t0 ))
  cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%d", ($14 + $15) * 1000 / hz}' "/proc/$PID/stat")
  [[ ${THREADS:-0} == 1 ]] && log "$setup: CPU ms per thread at the first response: $(thread_cpu "$PID")"
  st=$(sed -n 's/.*Main - started in \([0-9]*\) ms (\([0-9]*\) ms of CPU).*/\1 \2/p' "$WORK/log" | head -1)
  if [[ -n ${TRAINING:-} ]]; then # a trained priming start: real traffic, then an exit that writes the archive
    curl -s -o /dev/null "http://127.0.0.1:$PORT/files/1k"
    wrk -t1 -c16 -d"$TRAIN" -s loadtest/scenarios/hit.lua "http://127.0.0.1:$PORT" -- size=1k >/dev/null 2>&1 || true
    wrk -t1 -c4 -d2s -s loadtest/scenarios/pass.lua "http://127.0.0.1:$PORT" -- size=1k >/dev/null 2>&1 || true
    kill -TERM "$PID" 2>/dev/null || true
    for ((i = 0; i < 1200; i++)); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done # JDK 25 assembles its AOT cache at exit
  fi
  stop_pid "$PID" zcproxy
  PID=
  echo "$wall $cpu ${st:-- -}"
}

for s in $SETUPS; do
  case $s in
    before*-cds) log "priming $s's archive"; start_one "$s" >/dev/null ;;
    before* | *-nocds) ;;
    *-trained | *-aot | *-aot-* | *-cdsaot)
      if [[ -z $ORIGIN_PID ]]; then
        mkdir -p "$WORK/data"
        start_origin "$JAR" "127.0.0.1:$ORIGIN_PORT" "$WORK/data" 1 1k "$WORK/origin.log" || die "origin did not start"
      fi
      log "priming $s's archive with $TRAIN of hits and 2 s of passes"
      TRAINING=1 start_one "$s" "http://127.0.0.1:$ORIGIN_PORT" >/dev/null ;;
    *) log "priming $s's archive"; start_one "$s" >/dev/null ;;
  esac
done
stop_pid "$ORIGIN_PID" origin
ORIGIN_PID=
: >"$WORK/all"
for ((r = 1; r <= ROUNDS; r++)); do
  for s in $SETUPS; do
    line=$(start_one "$s")
    log "round $r $s: $line (load $(cut -d' ' -f1 /proc/loadavg))"
    echo "$s $line" >>"$WORK/all"
  done
done

median() { grep -v -- '^-$' | sort -n | awk '{a[NR] = $1} END {if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2]; else print int((a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }
{
  echo "# zcproxy start-up: exec to first response ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "Machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown); jar $JAR${BEFORE_JAR:+, before: $BEFORE_JAR}; $ROUNDS interleaved rounds, medians."
  echo
  echo "| set-up | first response, wall ms | CPU ms at first response | listener+admin up (log), wall ms | its CPU ms | CPU ms per start |"
  echo "|---|--:|--:|--:|--:|---|"
  for s in $SETUPS; do
    awk -v s="$s" '$1 == s' "$WORK/all" >"$WORK/one"
    echo "| $s | $(cut -d' ' -f2 "$WORK/one" | median) | $(cut -d' ' -f3 "$WORK/one" | median) | $(cut -d' ' -f4 "$WORK/one" | median) | $(cut -d' ' -f5 "$WORK/one" | median) | $(cut -d' ' -f3 "$WORK/one" | paste -sd, -) |"
  done
} | tee "$WORK/table.md"
if [[ -n ${OUT:-} ]]; then cp "$WORK/table.md" "$OUT"; log "wrote $OUT"; fi
