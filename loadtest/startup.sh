#!/usr/bin/env bash
# Start-up time: exec of bin/zcproxy to its first response (any status; the origin is a closed port, so
# it is a 502 made by the proxy), with an empty cache, for each set-up; medians of ROUNDS interleaved
# starts. Per start: wall ms, CPU ms of the process at the first response (robust on a shared machine),
# and the proxy's own "started in" line (wall/CPU to the listener and admin). Run it on a quiet machine
# for wall times.
#
#   loadtest/startup.sh                                  # jdk17-nocds jdk17 jdk25-nocds jdk25, 5 rounds
#   BEFORE_JAR=/tmp/old.jar SETUPS="before17 jdk17" ROUNDS=7 loadtest/startup.sh
#   SETUPS="jdk17 jdk17-nowarm" loadtest/startup.sh         # -nowarm: -Dzcproxy.warm=false (no StartupWarmer)
#   OUT=loadtest/results/STARTUP-x.md loadtest/startup.sh
#
# Set-ups: jdkNN = bin/zcproxy's default (its class-data archive, written by a priming start in a
# directory of this run's own); jdkNN-nocds = ZCPROXY_CDS=off; beforeNN = BEFORE_JAR with ZCPROXY_CDS=off.
# Env: JAR (proxy/target/zcproxy.jar), JDK17, JDK25 (homes), ROUNDS (5), PORT (18380), ADMIN_PORT (PORT+1).
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
WORK=$(mktemp -d /tmp/zcproxy-startup.XXXXXX)
PID=
cleanup() { stop_pid "$PID" zcproxy; rm -rf "$WORK"; }
trap cleanup EXIT

ms() { date +%s%3N; }
# one SETUP: prints "wall_ms cpu_ms started_wall started_cpu"
start_one() {
  local setup=$1 jdk jar=$JAR cds=on tool= i code=000 t0 wall cpu st
  case $setup in
    *17*) jdk=$JDK17 ;;
    *25*) jdk=$JDK25 ;;
    *) die "set-up $setup: no JDK in its name" ;;
  esac
  case $setup in
    before*) jar=${BEFORE_JAR:?BEFORE_JAR is needed for $setup}; cds=off ;;
    *-nocds) cds=off ;;
  esac
  case $setup in *-nowarm) tool=-Dzcproxy.warm=false ;; esac # StartupWarmer off (same jar)
  if ss -ltn | grep -q ":$PORT "; then die "port $PORT is taken"; fi
  rm -rf "$WORK/cache"
  t0=$(ms)
  env ${tool:+JAVA_TOOL_OPTIONS=$tool} JAVA_HOME=$jdk ZCPROXY_JAR=$jar ZCPROXY_CDS=$cds ZCPROXY_CDS_DIR="$WORK/cds-$setup" \
    bin/zcproxy --listen "127.0.0.1:$PORT" --admin "127.0.0.1:$ADMIN_PORT" --origin http://127.0.0.1:9 \
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
  st=$(sed -n 's/.*Main - started in \([0-9]*\) ms (\([0-9]*\) ms of CPU).*/\1 \2/p' "$WORK/log" | head -1)
  stop_pid "$PID" zcproxy
  PID=
  echo "$wall $cpu ${st:-- -}"
}

for s in $SETUPS; do
  case $s in before* | *-nocds) ;; *) log "priming $s's archive"; start_one "$s" >/dev/null ;; esac
done
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
