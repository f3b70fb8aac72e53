#!/usr/bin/env bash
# loadtest/splice-pass.sh: is a spliced pass-through faster or cheaper than a copied one? Runs two
# zcproxy instances side by side in front of one demo origin: "splice" (the default: uncacheable
# bodies >= transfer.splice-min-size move socket to socket with splice(2), and the origin connection
# then goes back to the pool: SpliceKeepAliveIT) and "copy" (transfer.splice: false: bodies are
# copied; origin connections are kept alive too). The same wrk command runs against each, interleaved over
# ROUNDS rounds; it prints every round and the medians, with CPU seconds per GB of each proxy.
#
#   loadtest/splice-pass.sh                       # sizes 64k 256k 1m 16m, 3 rounds of 5 s, -t2 -c32
#   SIZES="256k" ROUNDS=5 DURATION=10s CONNS="-t1 -c16" loadtest/splice-pass.sh
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=lib/common.sh
. "$HERE/lib/common.sh"

SIZES=${SIZES:-64k 256k 1m 16m}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNS=${CONNS:--t2 -c32}
ORIGIN_PORT=${ORIGIN_PORT:-18281}
SPLICE_PORT=${SPLICE_PORT:-18280}
COPY_PORT=${COPY_PORT:-18282}
JAR=${JAR:-$ROOT/proxy/target/zcproxy.jar}
WORK=$(mktemp -d /tmp/zcproxy-splice-pass.XXXXXX)
ORIGIN_PID= SPLICE_PID= COPY_PID=
cleanup() {
  trap "" INT TERM
  [[ -n $SPLICE_PID ]] && stop_pid "$SPLICE_PID" splice
  [[ -n $COPY_PID ]] && stop_pid "$COPY_PID" copy
  [[ -n $ORIGIN_PID ]] && stop_pid "$ORIGIN_PID" origin
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
need wrk wrk || die "wrk not found (apt-get install wrk)"
[[ -f $JAR ]] || die "no $JAR (build it: mvn -pl proxy package)"

gen=$(echo "$SIZES" | tr ' ' ',')
start_origin "$JAR" "127.0.0.1:$ORIGIN_PORT" "$WORK/data" 1 "$gen" "$WORK/origin.log" ||
  die "demo origin did not start: $(tail -3 "$WORK/origin.log")"
printf 'transfer:\n  splice: false\n' >"$WORK/copy.yaml"
java -jar "$JAR" --listen "127.0.0.1:$SPLICE_PORT" --origin "http://127.0.0.1:$ORIGIN_PORT" \
  --cache-dir "$WORK/c1" --admin off --access-log off >"$WORK/splice.log" 2>&1 &
SPLICE_PID=$!
java -jar "$JAR" --config "$WORK/copy.yaml" --listen "127.0.0.1:$COPY_PORT" --origin "http://127.0.0.1:$ORIGIN_PORT" \
  --cache-dir "$WORK/c2" --admin off --access-log off >"$WORK/copy.log" 2>&1 &
COPY_PID=$!
wait_http "http://127.0.0.1:$SPLICE_PORT/" 30 "$SPLICE_PID" || die "zcproxy (splice) did not start"
wait_http "http://127.0.0.1:$COPY_PORT/" 30 "$COPY_PID" || die "zcproxy (copy) did not start"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
declare -A RPS MBS CPUGB
printf '%-6s %-6s %-6s %12s %10s %10s\n' size round mode req/s MB/s cpu-s/GB
for size in $SIZES; do
  for port in $SPLICE_PORT $COPY_PORT; do # warm-up
    wrk -t1 -c4 -d2s "http://127.0.0.1:$port/nostore/files/$size" >/dev/null 2>&1 || true
  done
  for ((r = 1; r <= ROUNDS; r++)); do
    for mode in splice copy; do
      if [[ $mode == splice ]]; then port=$SPLICE_PORT pid=$SPLICE_PID; else port=$COPY_PORT pid=$COPY_PID; fi
      c0=$(cpu_ticks "$pid")
      # shellcheck disable=SC2086
      out=$(wrk $CONNS -d "$DURATION" --latency "http://127.0.0.1:$port/nostore/files/$size")
      c1=$(cpu_ticks "$pid")
      rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
      mbs=$(awk '/^Transfer\/sec/ {v=$2; if (v ~ /GB/) v*=1024; else if (v ~ /KB/) v/=1024; else v+=0; print v}' <<<"$out")
      secs=${DURATION%s}
      gb=$(awk -v m="$mbs" -v s="$secs" 'BEGIN {print m * s / 1024}')
      cpugb=$(awk -v t=$((c1 - c0)) -v hz="$hz" -v gb="$gb" 'BEGIN {printf "%.2f", (gb > 0 ? t / hz / gb : 0)}')
      RPS[$size,$mode]+="$rps " MBS[$size,$mode]+="$mbs " CPUGB[$size,$mode]+="$cpugb "
      printf '%-6s %-6s %-6s %12s %10.1f %10s\n' "$size" "$r" "$mode" "$rps" "$mbs" "$cpugb"
    done
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}'; }
echo
echo "medians over $ROUNDS rounds (wrk $CONNS -d $DURATION, same origin, interleaved):"
printf '| size | splice req/s | copy req/s | splice/copy | splice CPU s/GB | copy CPU s/GB |\n|---|--:|--:|--:|--:|--:|\n'
for size in $SIZES; do
  s=$(median <<<"${RPS[$size,splice]}") c=$(median <<<"${RPS[$size,copy]}")
  sg=$(median <<<"${CPUGB[$size,splice]}") cg=$(median <<<"${CPUGB[$size,copy]}")
  printf '| %s | %s | %s | %s | %s | %s |\n' "$size" "$s" "$c" "$(awk -v a="$s" -v b="$c" 'BEGIN {printf "%.2fx", (b > 0 ? a / b : 0)}')" "$sg" "$cg"
done
