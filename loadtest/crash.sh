#!/usr/bin/env bash
# loadtest/crash.sh: kill -9 zcproxy in the middle of fills, restart it over the same cache dir, and
# check the sha256 of every body it serves. Run by hand (not in ./test.sh); loopback only; bounded.
#
#   loadtest/crash.sh                      5 kill cycles over 240 URLs, then a verify pass
#   CYCLES=3 URLS=120 loadtest/crash.sh    shorter
#
# Each cycle starts bin/zcproxy over the same cache dir, drives PAR parallel curl clients through
# the URLs (each URL in a random order: misses that fill, hits of what survived earlier crashes,
# slow fills at 4 MiB/s), and sends SIGKILL to the proxy once a random number of responses (between
# URLS/8 and URLS/2) has completed, while PAR fills are under way (counting responses, not seconds,
# keeps the kill mid-load on a slow or busy machine; at most KILL_WAIT seconds). After the last cycle the proxy is started once more and every URL is
# fetched twice. The demo origin's bodies are deterministic (byte i = (i*31+7) & 0xff), so every
# body is checked against the pattern's sha256, computed here independently of origin and proxy.
#
# A "bad body" is a response that completed with status 200 and the wrong bytes: the promise is that
# there are none, ever. A cut connection or a refused connect while the proxy is dead is an "error",
# expected in the kill cycles (the client sees the failure), and must be zero in the verify pass.
# Exit status: 0 when there were no bad bodies and no verify errors, 1 otherwise, 2 on setup failure.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# shellcheck source=lib/common.sh
source "$HERE/lib/common.sh"

CYCLES=${CYCLES:-5}
URLS=${URLS:-240}
PAR=${PAR:-6}
KILL_WAIT=${KILL_WAIT:-120}
ORIGIN_PORT=${ORIGIN_PORT:-18281}
PROXY_PORT=${PROXY_PORT:-18280}
JAR=${ZCPROXY_JAR:-$ROOT/proxy/target/zcproxy.jar}
WORK=$(mktemp -d /tmp/zcproxy-crash.XXXXXX)
CACHE=$WORK/cache
ORIGIN_PID=
PROXY_PID=

cleanup() {
  trap "" INT TERM
  [[ -n $PROXY_PID ]] && kill -KILL "$PROXY_PID" 2>/dev/null || true
  stop_pid "$ORIGIN_PID" origin
  if [[ ${KEEP:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

[[ -f $JAR ]] || { log "no $JAR: build it with (cd $ROOT && mvn -B -q -DskipTests package)"; exit 2; }
command -v python3 >/dev/null || { log "python3 is needed to compute the expected checksums"; exit 2; }

# The URL set: sizes cycle through small, medium, large and a slow fill; ?v= makes each URL its own key.
SIZES=(16k 256k 1m 4m)
mkdir -p "$WORK/expect"
for s in "${SIZES[@]}" 2m; do
  python3 - "$s" >"$WORK/expect/$s" <<'EOF'
import hashlib, sys
s = sys.argv[1]
n = int(s[:-1]) * {'k': 1 << 10, 'm': 1 << 20}[s[-1]]
period = bytes(((i * 31 + 7) & 0xff) for i in range(256))
body = (period * (n // 256 + 1))[:n]
print(hashlib.sha256(body).hexdigest())
EOF
done
: >"$WORK/urls"
for ((i = 0; i < URLS; i++)); do
  if ((i % 8 == 7)); then
    echo "/slow/bytes/2m?rate=4m&v=$i 2m" >>"$WORK/urls"
  else
    echo "/bytes/${SIZES[i % ${#SIZES[@]}]}?v=$i ${SIZES[i % ${#SIZES[@]}]}" >>"$WORK/urls"
  fi
done

mkdir -p "$WORK/data"
start_origin "$JAR" "127.0.0.1:$ORIGIN_PORT" "$WORK/data" 1 "" "$WORK/origin.log" ||
  { log "the demo origin did not start (see $WORK/origin.log)"; KEEP=1; exit 2; }

start_proxy() {
  ZCPROXY_JAVA_OPTS=${ZCPROXY_JAVA_OPTS:-} "$ROOT/bin/zcproxy" --listen "127.0.0.1:$PROXY_PORT" \
    --origin "http://127.0.0.1:$ORIGIN_PORT" --cache-dir "$CACHE" --cache-size 2GiB --admin off \
    --access-log off >>"$WORK/proxy.log" 2>&1 &
  PROXY_PID=$!
  wait_http "http://127.0.0.1:$PROXY_PORT/__stats" 60 "$PROXY_PID" ||
    { log "zcproxy did not start (see $WORK/proxy.log)"; KEEP=1; exit 2; }
}

# fetch URL SIZE: one request; prints "ok HIT|MISS|...", "bad <status> <bytes>" or "err <curl exit>".
fetch() {
  local url=$1 size=$2 out rc got status cache
  out=$(mktemp "$WORK/body.XXXXXX")
  rc=0
  status=$(curl -s --max-time 30 -o "$out" -D "$out.h" -w '%{http_code}' "http://127.0.0.1:$PROXY_PORT$url") || rc=$?
  if ((rc != 0)); then
    echo "err $rc"
  else
    got=$(sha256sum "$out" | cut -d' ' -f1)
    cache=$(tr -d '\r' <"$out.h" | awk -F': ' 'tolower($1)=="x-cache" {print $2}')
    if [[ $status == 200 && $got == "$(cat "$WORK/expect/$size")" ]]; then
      echo "ok ${cache:-?}"
    else
      echo "bad $status $(stat -c %s "$out") $url"
    fi
  fi
  rm -f "$out" "$out.h"
}
export -f fetch
export WORK PROXY_PORT

# drive FILE: fetches every "url size" line of FILE with PAR clients; one result line per request.
drive() {
  xargs -P "$PAR" -L 1 bash -c 'fetch "$0" "$1"' <"$1"
}

scanned() { # scanned N: entries indexed by the N-th start's cache scan (from the proxy log)
  grep -o 'cache scan of [^:]*: [0-9]* entries indexed' "$WORK/proxy.log" | sed -n "$1p" | grep -o '[0-9]* entries' | cut -d' ' -f1
}

row() { # row PHASE RESULTS
  local f=$2
  printf '| %s | %d | %d | %d | %d | %d |\n' "$1" "$(wc -l <"$f")" "$(grep -c '^ok' "$f" || true)" \
    "$(grep -c '^ok HIT' "$f" || true)" "$(grep -c '^bad' "$f" || true)" "$(grep -c '^err' "$f" || true)"
}

TABLE=$WORK/table
{
  echo "| phase | requests | ok (sha256 matches) | of which HIT | bad bodies | errors (cut or refused) |"
  echo "|---|---:|---:|---:|---:|---:|"
} >"$TABLE"
bad=0
for ((c = 1; c <= CYCLES; c++)); do
  start_proxy
  shuf "$WORK/urls" >"$WORK/order.$c"
  : >"$WORK/results.$c"
  drive "$WORK/order.$c" >"$WORK/results.$c" &
  load=$!
  target=$((URLS / 8 + RANDOM % (URLS / 2 - URLS / 8 + 1)))
  for ((t = 0; t < KILL_WAIT * 10; t++)); do
    (($(wc -l <"$WORK/results.$c") >= target)) && break
    sleep 0.1
  done
  kill -KILL "$PROXY_PID"
  wait "$PROXY_PID" 2>/dev/null || true
  PROXY_PID=
  wait "$load" || true
  entries=$(scanned "$c")
  log "cycle $c: killed after $target responses; the restart before it indexed $entries entries"
  row "cycle $c (start: $entries entries indexed; kill -9 after $target responses)" "$WORK/results.$c" >>"$TABLE"
done

start_proxy
cat "$WORK/urls" "$WORK/urls" >"$WORK/order.verify"
drive "$WORK/order.verify" >"$WORK/results.verify"
row "verify (start: $(scanned $((CYCLES + 1))) entries indexed; every URL twice, no kill)" "$WORK/results.verify" >>"$TABLE"
stop_pid "$PROXY_PID" zcproxy
PROXY_PID=

cat "$TABLE"
bad=$(cat "$WORK"/results.* | grep -c '^bad' || true)
verr=$(grep -c '^err' "$WORK/results.verify" || true)
total=$(cat "$WORK"/results.* | grep -c '^ok' || true)
echo
echo "$CYCLES kill -9 cycles, $URLS URLs, $PAR clients: $total bodies checked, $bad bad, $verr errors after the last restart."
if ((bad > 0)); then
  grep -h '^bad' "$WORK"/results.* | head -20 >&2
fi
((bad == 0 && verr == 0))
