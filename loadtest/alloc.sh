#!/usr/bin/env bash
# loadtest/alloc.sh: exact bytes the proxy allocates per hit, from JFR's per-thread allocation counters
# (jdk.ThreadAllocationStatistics: cumulative, not sampled), so two builds can be compared on a busy
# machine where req/s and CPU samples mean little. For one jar: start the demo origin and zcproxy, warm
# the hit, record IDLE seconds of the idle proxy (its background rate: timers, gauges), then PROFILE of wrk
# load; prints bytes per request on the event loops and cache-io threads, idle rate subtracted.
#
#   loadtest/alloc.sh proxy/target/zcproxy.jar after [OUTDIR]
#   SIZE=16k loadtest/alloc.sh /tmp/old.jar before
#   PASS=1 loadtest/alloc.sh proxy/target/zcproxy.jar after     # pass-through: /nostore/files/<size>
#   WARM=60s PASS=1 loadtest/alloc.sh ...   # longer warm-up (default 5s): the pass path needs 60 s or more of load
#                                           # on a busy machine before C2 has compiled it (escape analysis)
#   KEYS=10000 loadtest/alloc.sh proxy/target/zcproxy.jar after   # the keys scenario (keys.lua), every key
#                                                                  # warmed once as run.sh does; KEYS=1 is the
#                                                                  # same client on one key (the fair baseline);
#                                                                  # KEYS_WARM=1 warms with the miss only (run.sh)
# JFR=DIR keeps the load recording there with lib/flame.py's top table (CPU and allocation shares); the
# proxy's /metrics transfer and RAM-tier counters after the load are printed either way.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
. "$HERE/lib/common.sh"
JAR=${1:?usage: alloc.sh JAR LABEL [OUTDIR]} LABEL=${2:?usage: alloc.sh JAR LABEL [OUTDIR]} OUT=${3:-$HERE/results}
SIZE=${SIZE:-1k} KEYS=${KEYS:-0} JFR=${JFR:-} IDLE=${IDLE:-5} PROFILE=${PROFILE:-8s} WARM=${WARM:-5s} CONNS=${CONNS:-1x16}
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
BASE=http://127.0.0.1:$ZCPROXY_PORT URL=$BASE/files/$SIZE WRK_ARGS=()
wait_http "$URL" 60 "$PROXY_PID" || die "zcproxy did not start"
if ((KEYS > 0)); then # run.sh's keys scenario: every key fetched once (the miss), then wrk picks them at random
  # KEYS_WARM=2: miss, then a first hit (as for one key below); 1: the miss only, as run.sh warms keys
  for ((i = 0; i < ${KEYS_WARM:-2}; i++)); do curl -s "$BASE/bytes/$SIZE?k=[0-$((KEYS - 1))]&e=keys" >/dev/null; done
  URL=$BASE WRK_ARGS=(-s "$HERE/scenarios/keys.lua" "$URL" -- "keys=$KEYS" "size=$SIZE" salt=keys) SIZE="$SIZE keys=$KEYS"
else
  [[ ${PASS:-0} == 1 ]] && URL=$BASE/nostore/files/$SIZE SIZE="$SIZE pass" # PASS=1: the no-store twin, forwarded every time
  curl -s -o /dev/null "$URL"; curl -s -o /dev/null "$URL" # miss, then the hit that reads the body into RAM
  WRK_ARGS=("$URL")
fi
wrk -t"${CONNS%x*}" -c"${CONNS#*x}" -d"$WARM" "${WRK_ARGS[@]}" >/dev/null 2>&1 || true
jcmd "$PROXY_PID" JFR.start name=idle settings=profile filename="$W/idle.jfr" >/dev/null
sleep "$IDLE"
jcmd "$PROXY_PID" JFR.stop name=idle >/dev/null
jcmd "$PROXY_PID" JFR.start name=load settings=profile filename="$W/load.jfr" >/dev/null
T0=$(cpu_ticks "$PROXY_PID")
REQ=$(wrk -t"${CONNS%x*}" -c"${CONNS#*x}" -d"$PROFILE" "${WRK_ARGS[@]}" 2>&1 | sed -nE 's/^ *([0-9]+) requests in.*/\1/p')
T1=$(cpu_ticks "$PROXY_PID")
jcmd "$PROXY_PID" JFR.stop name=load >/dev/null
python3 "$HERE/lib/alloc.py" "$W/idle.jfr" "$W/load.jfr" "${REQ:-0}" "$LABEL $SIZE" | tee -a "$OUT/ALLOC-$LABEL.txt"
awk -v t=$((T1 - T0)) -v hz="$(getconf CLK_TCK)" -v r="${REQ:-0}" -v l="$LABEL $SIZE" \
  'BEGIN { if (r > 0) printf "%s: proxy CPU %.2f s per 10k requests (utime+stime; noisy on a busy machine)\n", l, t / hz / r * 1e4 }'
curl -s "http://127.0.0.1:$ZCPROXY_ADMIN_PORT/metrics" |
  grep -E '^zcproxy_(responses_total\{mode=|ram_|transfer_written_bytes_total|cache_entries )' | grep -v ' 0\.0$' || true
if [[ -n $JFR ]]; then
  mkdir -p "$JFR"; cp "$W/load.jfr" "$JFR/$LABEL.jfr"
  python3 "$HERE/lib/flame.py" "$JFR/$LABEL.jfr" "$JFR/$LABEL" "$LABEL $SIZE" "${REQ:-0}"
fi
