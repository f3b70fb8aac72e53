#!/usr/bin/env bash
# loadtest/alloc.sh: exact bytes the proxy allocates per hit, from JFR's per-thread allocation counters
# (jdk.ThreadAllocationStatistics: cumulative, not sampled), so two builds can be compared on a busy
# machine where req/s and CPU samples mean little. For one jar: start the demo origin and zcproxy, warm
# the hit, record IDLE seconds of the idle proxy (its background rate: timers, gauges), then PROFILE of wrk
# load; prints bytes per request on the event loops and cache-io threads, idle rate subtracted.
#
#   loadtest/alloc.sh proxy/target/zcproxy.jar after [OUTDIR]
#   SIZE=16k loadtest/alloc.sh /tmp/old.jar before
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
. "$HERE/lib/common.sh"
JAR=${1:?usage: alloc.sh JAR LABEL [OUTDIR]} LABEL=${2:?usage: alloc.sh JAR LABEL [OUTDIR]} OUT=${3:-$HERE/results}
SIZE=${SIZE:-1k} IDLE=${IDLE:-5} PROFILE=${PROFILE:-8s} CONNS=${CONNS:-1x16}
ORIGIN_PORT=${ORIGIN_PORT:-18481} ZCPROXY_PORT=${ZCPROXY_PORT:-18480} ZCPROXY_ADMIN_PORT=${ZCPROXY_ADMIN_PORT:-18490}
ZCPROXY_JAVA_OPTS=${ZCPROXY_JAVA_OPTS:--Xms64m -Xmx128m -XX:MaxDirectMemorySize=64m}
need wrk wrk || die "wrk not found"
command -v jcmd >/dev/null && command -v jfr >/dev/null || die "jcmd and jfr (a JDK) are needed"
W=$(mktemp -d /tmp/zcproxy-alloc.XXXXXX); mkdir -p "$W/data" "$W/cache" "$OUT"
ORIGIN_PID= PROXY_PID=
cleanup() {
  [[ -n $PROXY_PID ]] && stop_pid "$PROXY_PID" zcproxy
  [[ -n $ORIGIN_PID ]] && stop_pid "$ORIGIN_PID" origin
  rm -rf "$W"
}
trap cleanup EXIT
start_origin "$JAR" "127.0.0.1:$ORIGIN_PORT" "$W/data" 1 "$SIZE" "$W/origin.log" || die "origin did not start"
# shellcheck disable=SC2086
java $ZCPROXY_JAVA_OPTS -jar "$JAR" --listen "127.0.0.1:$ZCPROXY_PORT" --origin "http://127.0.0.1:$ORIGIN_PORT" \
  --cache-dir "$W/cache" --cache-size 1GiB --admin "127.0.0.1:$ZCPROXY_ADMIN_PORT" --access-log off >"$W/proxy.log" 2>&1 &
PROXY_PID=$!
URL=http://127.0.0.1:$ZCPROXY_PORT/files/$SIZE
wait_http "$URL" 60 "$PROXY_PID" || die "zcproxy did not start"
curl -s -o /dev/null "$URL"; curl -s -o /dev/null "$URL" # miss, then the hit that reads the body into RAM
wrk -t"${CONNS%x*}" -c"${CONNS#*x}" -d5s "$URL" >/dev/null 2>&1 || true
jcmd "$PROXY_PID" JFR.start name=idle settings=profile filename="$W/idle.jfr" >/dev/null
sleep "$IDLE"
jcmd "$PROXY_PID" JFR.stop name=idle >/dev/null
jcmd "$PROXY_PID" JFR.start name=load settings=profile filename="$W/load.jfr" >/dev/null
REQ=$(wrk -t"${CONNS%x*}" -c"${CONNS#*x}" -d"$PROFILE" "$URL" 2>&1 | sed -nE 's/^ *([0-9]+) requests in.*/\1/p')
jcmd "$PROXY_PID" JFR.stop name=load >/dev/null
python3 "$HERE/lib/alloc.py" "$W/idle.jfr" "$W/load.jfr" "${REQ:-0}" "$LABEL $SIZE" | tee -a "$OUT/ALLOC-$LABEL.txt"
