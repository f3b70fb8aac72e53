#!/usr/bin/env bash
# loadtest/soak.sh: a mixed load against zcproxy for SOAK_SECONDS, with the proxy's resources sampled
# every SAMPLE_SECONDS. Run by hand (not in ./test.sh); loopback only; bounded in time.
#
#   loadtest/soak.sh                         30 minutes, a row per minute
#   SOAK_SECONDS=120 loadtest/soak.sh        a short validation run
#
# Load (PAR well-behaved clients plus bad ones, each a bash loop of curl, so the load stays modest):
#   hit      /bytes/64k?v=1..40 (cacheable; after the first round these are hits)
#   miss     /bytes/16k?v=<new>  (a new key every time: the cache fills and must evict, the index must
#                                not grow past what the cache size allows)
#   nostore  /nostore/bytes/32k  (passed through every time)
#   large    /bytes/4m?v=1..4    (sendfile hits of a larger body)
# Every body of those is checked against the demo origin's pattern (sha256).
#   bad clients, one of each per round: a slowloris head sent a byte at a time, a client that hangs up
#   in the middle of a 4 MiB body, a garbage request line, a client that never reads a 4 MiB answer.
#
# Each row: RSS, heap used (young + old, jstat -gc) and old generation used (what survives
# collections: the trend to watch), open fds, threads, requests, errors and bad bodies in the
# interval, and files in the cache dir. jstat needs a JVM start, so a row takes a few seconds. Flat rows are the goal. The proxy runs with the JVM
# options of bin/zcproxy (-Xmx128m -XX:MaxDirectMemorySize=64m) and a CACHE_SIZE cache.
# Exit status: 0 when no body was bad and no well-behaved request failed, 1 otherwise, 2 on setup failure.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# shellcheck source=lib/common.sh
source "$HERE/lib/common.sh"

SOAK_SECONDS=${SOAK_SECONDS:-1800}
SAMPLE_SECONDS=${SAMPLE_SECONDS:-60}
PAR=${PAR:-4}
CACHE_SIZE=${CACHE_SIZE:-64MiB}
ORIGIN_PORT=${ORIGIN_PORT:-18381}
PROXY_PORT=${PROXY_PORT:-18380}
JAR=${ZCPROXY_JAR:-$ROOT/proxy/target/zcproxy.jar}
WORK=$(mktemp -d /tmp/zcproxy-soak.XXXXXX)
ORIGIN_PID=
PROXY_PID=
PIDS=()

cleanup() {
  trap "" INT TERM
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  stop_pid "$PROXY_PID" zcproxy
  stop_pid "$ORIGIN_PID" origin
  if [[ ${KEEP:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

[[ -f $JAR ]] || { log "no $JAR: build it with (cd $ROOT && mvn -B -q -DskipTests package)"; exit 2; }
command -v python3 >/dev/null || { log "python3 is needed to compute the expected checksums"; exit 2; }
command -v jstat >/dev/null || { log "jstat (JDK) is needed for the heap column"; exit 2; }

mkdir -p "$WORK/expect" "$WORK/data" "$WORK/log"
for s in 16k 32k 64k 4m; do
  python3 - "$s" >"$WORK/expect/$s" <<'EOF'
import hashlib, sys
s = sys.argv[1]
n = int(s[:-1]) * {'k': 1 << 10, 'm': 1 << 20}[s[-1]]
period = bytes(((i * 31 + 7) & 0xff) for i in range(256))
print(hashlib.sha256((period * (n // 256 + 1))[:n]).hexdigest())
EOF
done

start_origin "$JAR" "127.0.0.1:$ORIGIN_PORT" "$WORK/data" 1 "" "$WORK/origin.log" ||
  { log "the demo origin did not start (see $WORK/origin.log)"; KEEP=1; exit 2; }
"$ROOT/bin/zcproxy" --listen "127.0.0.1:$PROXY_PORT" --origin "http://127.0.0.1:$ORIGIN_PORT" \
  --cache-dir "$WORK/cache" --cache-size "$CACHE_SIZE" --admin off --access-log off >"$WORK/proxy.log" 2>&1 &
PROXY_PID=$!
wait_http "http://127.0.0.1:$PROXY_PORT/" 60 "$PROXY_PID" ||
  { log "zcproxy did not start (see $WORK/proxy.log)"; KEEP=1; exit 2; }
END=$((SECONDS + SOAK_SECONDS))
BASE="http://127.0.0.1:$PROXY_PORT"

# check KIND URL SIZE: one request with a sha256 check; appends "<epoch> ok|bad|err KIND" to the log.
check() {
  local kind=$1 url=$2 size=$3 out status rc=0
  out=$(mktemp "$WORK/body.XXXXXX")
  status=$(curl -s --max-time 20 -o "$out" -w '%{http_code}' "$BASE$url") || rc=$?
  if ((rc != 0)) || [[ $status != 200 ]]; then
    echo "$(date +%s) err $kind $status/$rc $url"
  elif [[ $(sha256sum "$out" | cut -d' ' -f1) == "$(cat "$WORK/expect/$size")" ]]; then
    echo "$(date +%s) ok $kind"
  else
    echo "$(date +%s) bad $kind $url"
  fi
  rm -f "$out"
}

client() { # client N: a well-behaved client until the end
  local n=$1 i=0
  while ((SECONDS < END)); do
    i=$((i + 1))
    case $((i % 10)) in
      0 | 1 | 2 | 3 | 4) check hit "/bytes/64k?v=$((RANDOM % 40))" 64k ;;
      5 | 6) check miss "/bytes/16k?v=c$n-$i-$RANDOM" 16k ;;
      7 | 8) check nostore "/nostore/bytes/32k" 32k ;;
      9) check large "/bytes/4m?v=$((RANDOM % 4))" 4m ;;
    esac
  done >>"$WORK/log/client.$n"
}

bad_clients() { # one of each kind of bad client per round, paced so they stay a minority
  while ((SECONDS < END)); do
    # slowloris: a head a byte at a time (the request-head timeout ends it)
    (exec 3<>"/dev/tcp/127.0.0.1/$PROXY_PORT" && for c in G E T ' ' / s l o w; do printf '%s' "$c" >&3 || break; sleep 1; done; exec 3>&-) 2>/dev/null &
    # hangs up in the middle of a 4 MiB body
    curl -s --max-time 5 "$BASE/bytes/4m?v=1" 2>/dev/null | head -c 100000 >/dev/null || true
    # garbage request line
    (exec 3<>"/dev/tcp/127.0.0.1/$PROXY_PORT" && printf 'GARBAGE\r\n\r\n' >&3 && timeout 5 cat <&3 >/dev/null; exec 3>&-) 2>/dev/null || true
    # never reads a 4 MiB answer, holds the connection 5 s
    (exec 3<>"/dev/tcp/127.0.0.1/$PROXY_PORT" && printf 'GET /bytes/4m?v=2 HTTP/1.1\r\nHost: h\r\n\r\n' >&3 && sleep 5; exec 3>&-) 2>/dev/null &
    echo "$(date +%s) bad-clients" >>"$WORK/log/bad"
    sleep 2
  done
  wait
}

export -f check
export WORK BASE END
for ((n = 1; n <= PAR; n++)); do
  client "$n" &
  PIDS+=($!)
done
bad_clients &
PIDS+=($!)

sample() { # sample: "rss_mib heap_used_mib old_gen_used_mib fds threads"
  local rss fds thr heap old
  rss=$(awk '/^VmRSS:/ {printf "%.0f", $2 / 1024}' "/proc/$PROXY_PID/status")
  thr=$(awk '/^Threads:/ {print $2}' "/proc/$PROXY_PID/status")
  fds=$(find "/proc/$PROXY_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  # jstat -gc: S0U S1U EU OU are used KiB of survivor, eden and old (G1 columns)
  heap=$(jstat -gc "$PROXY_PID" 2>/dev/null | awk 'NR==2 {
    for (i = 1; i <= NF; i++) v[i] = $i } NR==1 { for (i = 1; i <= NF; i++) c[$i] = i }
    END { printf "%.0f %.0f", (v[c["S0U"]] + v[c["S1U"]] + v[c["EU"]] + v[c["OU"]]) / 1024, v[c["OU"]] / 1024 }')
  echo "$rss ${heap:-? ?} $fds $thr"
}
count() { # count STATUS SINCE UNTIL: result lines of that status in [SINCE, UNTIL)
  cat "$WORK"/log/client.* 2>/dev/null | awk -v s="$1" -v a="$2" -v b="$3" '$2 == s && $1 >= a && $1 < b' | wc -l
}

TABLE=$WORK/table
{
  echo "| time (m:ss) | RSS MiB | heap used MiB | old gen used MiB | open fds | threads | requests | errors | bad bodies | cache files |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
} >"$TABLE"
read -r rss heap old fds thr <<<"$(sample)"
echo "| 0:00 | $rss | $heap | $old | $fds | $thr | 0 | 0 | 0 | 0 |" | tee -a "$TABLE"
t0=$(date +%s)
prev=$t0
while ((SECONDS < END)); do
  left=$((END - SECONDS))
  sleep $((left < SAMPLE_SECONDS ? left : SAMPLE_SECONDS))
  kill -0 "$PROXY_PID" 2>/dev/null || { log "zcproxy died (see $WORK/proxy.log)"; KEEP=1; break; }
  now=$(date +%s)
  read -r rss heap old fds thr <<<"$(sample)"
  ok=$(count ok "$prev" "$now")
  err=$(count err "$prev" "$now")
  bad=$(count bad "$prev" "$now")
  files=$(find "$WORK/cache" -type f 2>/dev/null | wc -l)
  printf '| %d:%02d | %s | %s | %s | %s | %s | %d | %d | %d | %d |\n' $(((now - t0) / 60)) $(((now - t0) % 60)) \
    "$rss" "$heap" "$old" "$fds" "$thr" \
    $((ok + err + bad)) "$err" "$bad" "$files" | tee -a "$TABLE"
  prev=$now
done
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
PIDS=()

echo
cat "$TABLE"
total=$(cat "$WORK"/log/client.* | wc -l)
errs=$(cat "$WORK"/log/client.* | awk '$2 == "err"' | wc -l)
bads=$(cat "$WORK"/log/client.* | awk '$2 == "bad"' | wc -l)
rounds=$(wc -l <"$WORK/log/bad")
echo
echo "$SOAK_SECONDS s, $PAR clients + $rounds rounds of bad clients: $total checked requests, $errs errors, $bads bad bodies;" \
  "zcproxy $(kill -0 "$PROXY_PID" 2>/dev/null && echo alive || echo DEAD) at the end."
cat "$WORK"/log/client.* | awk '$2 != "ok"' | head -10 >&2
kill -0 "$PROXY_PID" 2>/dev/null && ((errs == 0 && bads == 0))
