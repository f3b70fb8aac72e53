#!/usr/bin/env bash
# Scale: N small cached objects (default 1,000,000). Seeds N entry files, starts bin/zcproxy over them
# once with no index snapshot (the full scan reads every file, then writes the snapshot) and stops it
# cleanly, then measures a restart: time to the first response, to the full index (loaded from the
# snapshot) and to the end of the scan that reconciles the directory with it, heap per index entry
# after a full GC, RSS, and whether keys are served from disk (the origin is a closed port: any miss
# would be a 502). Finally bin/zcproxy with its own default JVM options over the same directory:
# serving, no OutOfMemoryError (it keeps what its heap budget holds and deletes the rest).
#
#   loadtest/scale.sh                     # N=1000000, about 10-15 minutes
#   N=20000 loadtest/scale.sh             # a quick check
#   OUT=loadtest/results/SCALE-x.md loadtest/scale.sh
#   KEEP=1 DIR=/dev/shm/zc-1m loadtest/scale.sh            # seed and snapshot once, keep DIR, then
#   REUSE=1 DIR=/dev/shm/zc-1m loadtest/scale.sh           # measure only the restart phases (a short quiet window)
#
# Env: N, BODY (bytes per object, 64), DIR (cache dir; default under /dev/shm when it has room, else
# /tmp: creating a million files on a busy disk takes far longer), PORT (18080), ADMIN_PORT (PORT+1), BIG_HEAP (-Xmx1g,
# for the measured restart), SAMPLE (keys fetched per check, 200), KEEP=1 keeps DIR, REUSE=1 reuses a
# DIR a KEEP=1 run seeded and snapshotted (needs DIR/index.snapshot; N comes from DIR.n, written at
# seeding): no seeding and no first start without a snapshot, so those rows say "reused".
# Talks to 127.0.0.1 only; stops only the processes it started, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
. loadtest/lib/common.sh

N=${N:-1000000}
BODY=${BODY:-64}
PORT=${PORT:-18080}
ADMIN_PORT=${ADMIN_PORT:-$((PORT + 1))}
SAMPLE=${SAMPLE:-200}
BIG_HEAP=${BIG_HEAP:--Xmx1g}
DEFAULT_OPTS=""   # bin/zcproxy's own
BIG_OPTS="-Xms64m $BIG_HEAP -XX:MaxDirectMemorySize=64m -XX:ReservedCodeCacheSize=64m -Xss512k -XX:+ExitOnOutOfMemoryError"
need curl curl || die "curl is needed"
command -v jcmd >/dev/null || die "jcmd (JDK) is needed"

if [[ -z ${DIR:-} ]]; then
  need_kib=$(( N * 9 + 1048576 ))
  if [[ -d /dev/shm && -w /dev/shm ]] && (( $(df -Pk /dev/shm | awk 'NR==2 {print $4}') > need_kib )); then
    DIR=/dev/shm/zcproxy-scale.$$
  else
    DIR=/tmp/zcproxy-scale.$$
  fi
fi
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do stop_pid "$p" zcproxy; done
  [[ ${KEEP:-0} == 1 || ${REUSE:-0} == 1 ]] || rm -rf "$DIR" "$DIR.empty" "$DIR.n"
  rm -rf "$DIR.empty"
  rm -rf "$WORK"
}
trap cleanup EXIT

[[ -f proxy/target/zcproxy.jar && -d cache/target/test-classes ]] || mvn -B -q -o -DskipTests package >&2
mvn -B -q -o dependency:build-classpath -pl cache -Dmdep.outputFile="$WORK/cp.txt" >/dev/null
CP=cache/target/test-classes:cache/target/classes:$(cat "$WORK/cp.txt")
BASE=http://127.0.0.1:$PORT

ms() { date +%s%3N; }
# CPU seconds (user + system) the process has used so far
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$1/stat"; }
rss_mib() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
hwm_mib() { awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
# live heap after a full GC: the total of a class histogram (jcmd runs a full GC first)
live_heap() { jcmd "$1" GC.class_histogram 2>/dev/null | awk '/^Total/ {print $3}'; }

# stop_clean PID: TERM, then waits up to 300 s (the index snapshot is written at a clean stop)
stop_clean() {
  local i
  kill -TERM "$1" 2>/dev/null || return 0
  for ((i = 0; i < 3000; i++)); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  log "zcproxy ($1) did not stop in 300 s; sending KILL"
  kill -KILL "$1" 2>/dev/null || true
}

# wait_line LOG PATTERN SECS: waits for a log line matching PATTERN; prints it
wait_line() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    if grep -q "$2" "$1"; then
      grep "$2" "$1" | head -1
      return 0
    fi
    kill -0 "$PID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# start OPTS DIR LOG: starts bin/zcproxy, sets PID and T0 (epoch ms at exec)
start() {
  T0=$(ms)
  ZCPROXY_JAVA_OPTS="$1" bin/zcproxy --listen "127.0.0.1:$PORT" --admin "127.0.0.1:$ADMIN_PORT" --origin http://127.0.0.1:9 \
    --cache-dir "$2" --cache-size 64GiB >"$3" 2>&1 &
  PID=$!
  PIDS+=("$PID")
}

# wait_scan LOG SECS: waits for the scan's log line; prints "entries ms"
wait_scan() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    if grep -q "cache scan of" "$1"; then
      sed -n 's/.*cache scan of [^:]*: \([0-9]*\) entries indexed.* in \([0-9]*\) ms.*/\1 \2/p' "$1" | head -1
      return 0
    fi
    kill -0 "$PID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# sample: fetches SAMPLE random seeded keys; prints "hits ok other"
sample() {
  local hits=0 ok=0 other=0 i k out
  for ((i = 0; i < SAMPLE; i++)); do
    k=$(( (RANDOM * 32768 + RANDOM) % N ))
    out=$(curl -s -o /dev/null -D - --max-time 5 "$BASE/obj/$k" | tr -d '\r')
    if grep -q '^HTTP/1.1 200' <<<"$out"; then
      ok=$((ok + 1))
      grep -qi '^cache-status:.*hit' <<<"$out" && hits=$((hits + 1))
    else
      other=$((other + 1))
    fi
  done
  echo "$hits $ok $other"
}

if [[ ${REUSE:-0} == 1 ]]; then
  [[ -f $DIR/index.snapshot && -f $DIR.n ]] || die "REUSE=1: $DIR/index.snapshot or $DIR.n missing (seed it first with KEEP=1 DIR=$DIR)"
  N=$(cat "$DIR.n")
  log "reusing $DIR: $N objects, seeded and snapshotted by an earlier KEEP=1 run"
  mkdir -p "$DIR.empty"
else
  log "seeding $N objects of $BODY B into $DIR"
  mkdir -p "$DIR" "$DIR.empty"
  seed=$(java -Xmx256m -cp "$CP" dev.zcproxy.cache.store.ScaleTool seed "$DIR" "$N" "$BASE" "$BODY" 2 | grep '^RESULT')
  seed_rate=$(sed 's/.*rate=\([0-9]*\).*/\1/' <<<"$seed")
  seed_s=$(sed 's/.*seconds=\([0-9.]*\).*/\1/' <<<"$seed")
  echo "$N" >"$DIR.n"
  log "$seed"
fi

log "baseline: zcproxy ($BIG_HEAP) with an empty cache"
start "$BIG_OPTS" "$DIR.empty" "$WORK/empty.log"
wait_http "$BASE/obj/0" 120 "$PID" || die "zcproxy did not start: $(tail -5 "$WORK/empty.log")"
empty_up_ms=$(( $(ms) - T0 ))
empty_cpu=$(cpu_s "$PID")
wait_scan "$WORK/empty.log" 60 >/dev/null || true
curl -s -o /dev/null "$BASE/obj/0" || true
base_heap=$(live_heap "$PID")
stop_pid "$PID" zcproxy

if [[ ${REUSE:-0} != 1 ]]; then
  log "first start over $N entries ($BIG_HEAP), no index snapshot yet: the full scan"
  start "$BIG_OPTS" "$DIR" "$WORK/first.log"
  first_scan=$(wait_scan "$WORK/first.log" 3600) || die "first scan did not finish: $(tail -5 "$WORK/first.log")"
  read -r first_entries first_scan_ms <<<"$first_scan"
  wait_line "$WORK/first.log" "cache index snapshot of .* written" 600 >/dev/null || die "no snapshot written: $(tail -5 "$WORK/first.log")"
  snap_write_ms=$(sed -n 's/.*cache index snapshot of .*: [0-9]* entries written in \([0-9]*\) ms.*/\1/p' "$WORK/first.log" | head -1)
  stop_clean "$PID"
fi
snap_bytes=$(stat -c %s "$DIR/index.snapshot" 2>/dev/null || echo 0)

log "restart over $N entries ($BIG_HEAP), from the snapshot"
start "$BIG_OPTS" "$DIR" "$WORK/big.log"
last=$((N - 1))
first_ms=
for ((i = 0; i < 6000; i++)); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BASE/obj/$last" || true)
  if [[ $code == 200 ]]; then first_ms=$(( $(ms) - T0 )); break; fi
  [[ $code == 000 ]] || { log "first request: HTTP $code"; break; }
  kill -0 "$PID" 2>/dev/null || die "zcproxy died: $(tail -5 "$WORK/big.log")"
  sleep 0.02
done
scanning_at_first=$(grep -q "cache scan of" "$WORK/big.log" && echo no || echo yes)
# the proxy's own start-up line: wall and CPU ms per phase from exec to the listener (and admin)
phases=$(sed -n 's/.*Main - \(started in .*\)/\1/p' "$WORK/big.log" | head -1)
read -r during_hits during_ok during_other < <(sample)
loaded=$(wait_line "$WORK/big.log" "entries loaded from the snapshot" 900) || die "snapshot not loaded: $(tail -5 "$WORK/big.log")"
read -r loaded_n load_ms load_cpu_ms <<<"$(sed -n 's/.*: \([0-9]*\) entries loaded from the snapshot in \([0-9]*\) ms (\([0-9]*\) ms of CPU.*/\1 \2 \3/p' <<<"$loaded")"
# when the index was whole: the log line's own time stamp, from exec
loaded_after_exec=$(( $(date -d "$(awk '{print $1}' <<<"$loaded")" +%s%3N) - T0 ))
scan=$(wait_scan "$WORK/big.log" 900) || die "scan did not finish: $(tail -5 "$WORK/big.log")"
read -r entries scan_ms <<<"$scan"
# when the scan ended: its log line's own time stamp, from exec (the samples above take a while)
full_ms=$(( $(date -d "$(grep -m1 "cache scan of" "$WORK/big.log" | awk '{print $1}')" +%s%3N) - T0 ))
full_cpu=$(cpu_s "$PID")
read -r hits ok other < <(sample)
heap=$(live_heap "$PID")
per_entry=$(awk -v h="$heap" -v b="$base_heap" -v n="$((loaded_n + entries))" 'BEGIN {printf "%.0f", (h - b) / n}')
rss=$(rss_mib "$PID"); hwm=$(hwm_mib "$PID")
stop_clean "$PID"

log "bin/zcproxy's default JVM options over the same directory"
start "$DEFAULT_OPTS" "$DIR" "$WORK/default.log"
# the first answer to the same key as the measured restart's, timed the same way (a 502 if the heap bound evicted it)
dfirst_ms= dfirst_code=
for ((i = 0; i < 3000; i++)); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BASE/obj/$last" || true)
  if [[ $code != 000 ]]; then dfirst_ms=$(( $(ms) - T0 )); dfirst_code=$code; break; fi
  kill -0 "$PID" 2>/dev/null || die "zcproxy (default heap) died: $(tail -5 "$WORK/default.log")"
  sleep 0.02
done
[[ -n $dfirst_ms ]] || die "zcproxy (default heap) did not start: $(tail -5 "$WORK/default.log")"
dl=$(wait_line "$WORK/default.log" "entries loaded from the snapshot" 900) || die "default: snapshot not loaded: $(tail -5 "$WORK/default.log")"
read -r dloaded dload_ms <<<"$(sed -n 's/.*: \([0-9]*\) entries loaded from the snapshot in \([0-9]*\) ms (.*/\1 \2/p' <<<"$dl")"
dscan=$(wait_scan "$WORK/default.log" 900) || die "default-heap scan did not finish: $(tail -5 "$WORK/default.log")"
read -r dentries dscan_ms <<<"$dscan"
read -r dhits dok dother < <(sample)
dheap=$(live_heap "$PID")
drss=$(rss_mib "$PID"); dhwm=$(hwm_mib "$PID")
alive=$(kill -0 "$PID" 2>/dev/null && echo yes || echo no)
oom=$(grep -c OutOfMemoryError "$WORK/default.log" || true)
stop_pid "$PID" zcproxy

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dopts=$(launcher_opts)
jdk=$(java -version 2>&1 | head -1)
{
  echo "# Scale: $N small objects ($(date -u +%Y-%m-%d))"
  echo
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; $jdk; commit $commit."
  echo "bin/zcproxy's default JVM options: \`$dopts\`; the measured restart uses \`$BIG_OPTS\`."
  echo "Cache dir: \`$DIR\` ($(df -P "$DIR" | awk 'NR==2 {print $1}')); body $BODY B per object. The origin is a closed port: a response that is not a hit is a 502."
  echo
  echo "| measure | value |"
  echo "|---|---|"
  if [[ ${REUSE:-0} == 1 ]]; then
    echo "| seed: direct entry-file writes | reused (REUSE=1: seeded by an earlier run) |"
  else
    echo "| seed: direct entry-file writes (ScaleTool, 2 threads, no HTTP, no index) | $N files in ${seed_s} s, $seed_rate files/s |"
  fi
  echo "| JVM start to first response, empty cache (the machine's start-up cost, for comparison) | $empty_up_ms ms after exec |"
  if [[ ${REUSE:-0} == 1 ]]; then
    echo "| first start, no snapshot: full scan of every file | reused (REUSE=1); snapshot $((snap_bytes >> 20)) MiB |"
  else
    echo "| first start, no snapshot: full scan of every file | $first_entries entries in $first_scan_ms ms (log); snapshot written in ${snap_write_ms:-?} ms, $((snap_bytes >> 20)) MiB |"
  fi
  echo "| restart ($BIG_HEAP): first response, a hit (reconciling scan still running: $scanning_at_first) | ${first_ms:-none} ms after exec |"
  echo "| restart: the proxy's start-up phases (log) | ${phases:-not logged} |"
  echo "| restart: full index loaded from the snapshot | $loaded_n entries in $load_ms ms, $load_cpu_ms ms of CPU (log); whole $loaded_after_exec ms after exec |"
  echo "| restart: $SAMPLE random keys right after the first response | $during_hits hits, $during_other not 200 |"
  echo "| restart: reconciling scan done (lists the directories, reads only files the snapshot does not know) | $entries new entries; scan $scan_ms ms (log), $full_ms ms after exec |"
  echo "| CPU used by the proxy from exec to the end of the scan (empty-cache start: $empty_cpu s) | $full_cpu s |"
  echo "| after the scan: $SAMPLE random keys | $hits hits, $other not 200 |"
  echo "| heap per index entry after a full GC (live heap - empty-cache baseline) / entries | **$per_entry B** ($heap - $base_heap B) |"
  echo "| RSS ($BIG_HEAP) after the scan / peak | $rss / $hwm MiB |"
  echo "| bin/zcproxy's default JVM options: entries indexed (from the snapshot; kept by the heap bound) | $dloaded (load $dload_ms ms; scan $dscan_ms ms) |"
  echo "| default options: first response (HTTP $dfirst_code; 200 is a hit, the origin is a closed port) | ${dfirst_ms} ms after exec |"
  echo "| default options: $SAMPLE random keys | $dhits hits, $dother not 200 (evicted keys are misses: 502 here) |"
  echo "| default options: alive, OutOfMemoryError lines, live heap, RSS / peak | $alive, $oom, $((dheap >> 20)) MiB, $drss / $dhwm MiB |"
} | tee "$WORK/table.md"
if [[ -n ${OUT:-} ]]; then cp "$WORK/table.md" "$OUT"; log "wrote $OUT"; fi
