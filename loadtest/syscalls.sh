#!/usr/bin/env bash
# loadtest/syscalls.sh: which system calls move the body bytes? Starts the demo origin and zcproxy
# on 127.0.0.1, fetches one object (MISS), then traces the zcproxy process with
#   strace -f -C -e trace=sendfile,splice,read,write,writev,pread64,pwrite64,sendto,recvfrom -p <pid>
# while curl fetches it HITS more times over one keep-alive connection; then the same for a
# no-store URL (PASS). For each phase it prints strace's count table and, from the same trace, the
# bytes each system call returned, next to the body bytes served. On a hit the body should move by
# sendfile and read/write should carry only request and response heads; on a pass, by splice.
#
# Two more phases for zcproxy: FILL fetches FILLS distinct cold URLs (each a MISS: origin socket ->
# cache file by splice, cache file -> client by sendfile), and TUNNEL fetches through a CONNECT
# tunnel to the origin (curl -p; spliced both ways).
#
#   loadtest/syscalls.sh                         # zcproxy, 1 MiB object, 100 hits, 100 passes
#   SIZE=16m HITS=20 loadtest/syscalls.sh
#   TARGET=origin loadtest/syscalls.sh           # trace the demo origin itself (its sendfile)
#   TARGET_PID=1234 TARGET_URL=http://127.0.0.1:8080 loadtest/syscalls.sh   # any running server
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=lib/common.sh
. "$HERE/lib/common.sh"

SIZE=${SIZE:-1m}
HITS=${HITS:-100}
PASSES=${PASSES:-$HITS}
FILLS=${FILLS:-20}
TUNNELS=${TUNNELS:-$HITS}
TARGET=${TARGET:-zcproxy}              # zcproxy | origin (ignored when TARGET_PID is set)
TARGET_PID=${TARGET_PID:-}
TARGET_URL=${TARGET_URL:-}
# sendto/recvfrom: Netty's epoll transport writes a single buffer with sendto and reads with recvfrom, so a 1 KiB
# hit from the RAM tier (one buffer: head and body) or a copied small pass shows there, not under write/read
SYSCALLS=${SYSCALLS:-sendfile,splice,read,write,writev,pread64,pwrite64,sendto,recvfrom}
ORIGIN_PORT=${ORIGIN_PORT:-18181}
ZCPROXY_PORT=${ZCPROXY_PORT:-18180}
ZCPROXY_ADMIN_PORT=${ZCPROXY_ADMIN_PORT:-18190}
JAR=${JAR:-$ROOT/proxy/target/zcproxy.jar}
INSTALL=${INSTALL:-1}
WORK=$(mktemp -d /tmp/zcproxy-syscalls.XXXXXX)

ORIGIN_PID= PROXY_PID= STRACE_PID=
cleanup() {
  trap "" INT TERM  # a second Ctrl-C or TERM must not cut the cleanup short
  [[ -n $STRACE_PID ]] && stop_pid "$STRACE_PID" strace
  [[ -n $PROXY_PID ]] && stop_pid "$PROXY_PID" zcproxy
  [[ -n $ORIGIN_PID ]] && stop_pid "$ORIGIN_PID" origin
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need strace strace || die "strace not found (apt-get install strace)"
need curl curl || die "curl not found"
if [[ $(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0) != 0 && $(id -u) != 0 ]]; then
  die "ptrace is restricted (kernel.yama.ptrace_scope); run as root"
fi

size_bytes=$(awk -v s="$SIZE" 'BEGIN {
  n = s + 0; u = tolower(substr(s, length(s)))
  if (u == "k") n *= 1024; else if (u == "m") n *= 1048576; else if (u == "g") n *= 1073741824
  printf "%d", n }')

if [[ -n $TARGET_PID ]]; then
  [[ -n $TARGET_URL ]] || die "TARGET_PID needs TARGET_URL (the server's base URL)"
  PID=$TARGET_PID BASE=$TARGET_URL
  log "tracing pid $PID at $BASE (it must serve /files/$SIZE and /nostore/files/$SIZE)"
else
  [[ -f $JAR ]] || die "no $JAR (build it: mvn -pl proxy package)"
  ORIGIN=127.0.0.1:$ORIGIN_PORT
  log "starting demo origin on $ORIGIN"
  start_origin "$JAR" "$ORIGIN" "$WORK/data" 1 "$SIZE" "$WORK/origin.log" ||
    die "demo origin did not start: $(tail -3 "$WORK/origin.log")"
  if [[ $TARGET == origin ]]; then
    PID=$ORIGIN_PID BASE=http://$ORIGIN
  else
    log "starting zcproxy on 127.0.0.1:$ZCPROXY_PORT"
    # CONNECT is off by default; allow it to the origin's port for the tunnel phase.
    printf 'transfer:\n  connect-ports: [%s]\nlogging:\n  access-log: "off"\n' "$ORIGIN_PORT" >"$WORK/zcproxy.yaml"
    java -jar "$JAR" --config "$WORK/zcproxy.yaml" --listen "127.0.0.1:$ZCPROXY_PORT" --origin "http://$ORIGIN" \
      --cache-dir "$WORK/cache" --cache-size 2GiB --admin "127.0.0.1:$ZCPROXY_ADMIN_PORT" \
      >"$WORK/zcproxy.log" 2>&1 &
    PROXY_PID=$!
    wait_http "http://127.0.0.1:$ZCPROXY_PORT/" 30 "$PROXY_PID" ||
      die "zcproxy did not start: $(grep -m1 -E 'Exception|Error' "$WORK/zcproxy.log" || tail -1 "$WORK/zcproxy.log")"
    PID=$PROXY_PID BASE=http://127.0.0.1:$ZCPROXY_PORT
  fi
fi

# trace_phase NAME URL COUNT [distinct] [curl options...]: fetch URL COUNT times on one connection
# under strace (with "distinct": COUNT different URLs, URL?fill=I); print tables.
trace_phase() {
  local name=$1 url=$2 count=$3 distinct=${4:-} cfg=$WORK/$1.curl out=$WORK/$1.strace i o0 o1 u
  shift 4 2>/dev/null || shift $#
  : >"$cfg"
  for ((i = 0; i < count; i++)); do
    u=$url
    [[ $distinct == distinct ]] && u="$url?fill=$i-$RANDOM"
    printf 'url = "%s"\noutput = "/dev/null"\n' "$u" >>"$cfg"
  done
  strace -f -C -qq -e trace="$SYSCALLS" -e signal=none -o "$out" -p "$PID" 2>"$WORK/$name.strace.err" &
  STRACE_PID=$!
  # strace attaches to every thread of the process; give it a moment, then check it is alive
  sleep 1
  kill -0 "$STRACE_PID" 2>/dev/null || die "strace could not attach: $(cat "$WORK/$name.strace.err")"
  [[ -n ${ORIGIN:-} ]] && o0=$(origin_total "$ORIGIN")
  curl -s "$@" -K "$cfg" -w '%{http_code}\n' >"$WORK/$name.codes"
  [[ -n ${ORIGIN:-} ]] && o1=$(origin_total "$ORIGIN")
  sleep 0.5
  kill -INT "$STRACE_PID" 2>/dev/null || true
  wait "$STRACE_PID" 2>/dev/null || true
  STRACE_PID=
  local ok; ok=$(grep -c '^200$' "$WORK/$name.codes" || true)
  echo
  echo "== $name: $count x GET $url ($ok answered 200; body bytes served: $((ok * size_bytes)))"
  [[ -n ${ORIGIN:-} && $PID != "${ORIGIN_PID:-x}" ]] && echo "   origin requests during the phase: $((o1 - o0))"
  echo
  echo "strace -c summary (all threads of pid $PID):"
  sed -n '/^% time/,$p' "$out"
  echo
  echo "bytes returned per system call (sum of positive return values):"
  awk -v body=$((ok * size_bytes)) '
    /resumed>/ { if (match($0, /<\.\.\. [a-z0-9_]+ resumed>/)) { s = substr($0, RSTART + 5, RLENGTH - 13); sub(/ .*/, "", s) } else next }
    !/resumed>/ { if (match($0, /^[0-9]+ +[a-z0-9_]+\(/)) { s = $0; sub(/^[0-9]+ +/, "", s); sub(/\(.*/, "", s) } else next }
    /<unfinished \.\.\.>$/ { next }
    { if (match($0, /= -?[0-9]+/)) { r = substr($0, RSTART + 2, RLENGTH - 2) + 0; calls[s]++; if (r > 0) bytes[s] += r } }
    END {
      printf "  %-10s %8s %14s %9s\n", "syscall", "calls", "bytes", "of body"
      for (s in calls) printf "  %-10s %8d %14d %8.1f%%\n", s, calls[s], bytes[s], (body > 0 ? 100 * bytes[s] / body : 0)
    }' "$out" | { read -r header; echo "$header"; sort -k3 -n -r; }
}

first=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/files/$SIZE")
log "first fetch (MISS) of $BASE/files/$SIZE: $first"
[[ $first == 200 ]] || die "the target answered $first for /files/$SIZE"
trace_phase hit "$BASE/files/$SIZE" "$HITS"
trace_phase pass "$BASE/nostore/files/$SIZE" "$PASSES"
if [[ -n ${PROXY_PID:-} ]]; then
  trace_phase fill "$BASE/files/$SIZE" "$FILLS" distinct
  # curl -p: CONNECT 127.0.0.1:ORIGIN_PORT through zcproxy, then GET inside the tunnel
  trace_phase tunnel "http://$ORIGIN/nostore/files/$SIZE" "$TUNNELS" same -p -x "$BASE"
fi
echo
echo "Reading: on hits the body should appear under sendfile (about 100% of body bytes) and"
echo "read/write/writev should carry only heads (a few hundred bytes per request): one head write and one"
echo "sendfile per hit, both from one flush (the pre-encoded head and a file region), for bodies of 1 MiB"
echo "and more. Bodies longer than one loopback segment (65,484 bytes with the head) and shorter than 1 MiB"
echo "leave their first bytes with the head (HeadPrefix): one pread64 of 65,484 less the head's bytes per"
echo "hit, the same bytes again under writev, sendfile the rest (at 256k about 25% pread64, 75% sendfile;"
echo "/metrics counts the prefix as buffer bytes). Bodies up to"
echo "cache.ram-max-object-size (16 KiB) move from the second hit on in the head's own write (RAM tier):"
echo "then sendto (one buffer) or writev carries head and body and sendfile is absent. On passes a"
echo "proxy that splices shows the body under splice; read/recvfrom + writev/sendto near 100% means it was"
echo "copied (below transfer.splice-min-size, 512 KiB)."
echo "Splice counts both of its hops (socket -> pipe, pipe -> socket or file), so a fully spliced"
echo "body shows about 200% under splice. A fill shows splice (origin -> cache file) and sendfile"
echo "(cache file -> client); a tunnel shows splice both ways."
