#!/usr/bin/env bash
# loadtest/cluster.sh: three zcproxy nodes in a cluster against three independent nodes, on 127.0.0.1.
# Starts the demo origin and three nodes, drives wrk at all three at once (the same Host on every node,
# as behind a load balancer) over KEYS distinct cold URLs, then reports per run: origin requests per
# key (1 in a cluster, up to 3 for independent nodes), hit ratio per node and cluster-wide, and the
# total throughput. Writes results/CLUSTER-<date>-<commit>.md.
# A node's HIT and MISS count every response it gave, to clients and, as an owner, to the other nodes;
# "1 - origin/client requests" is the share of client requests the cluster answered without the origin.
#
#   SMOKE=1 loadtest/cluster.sh       # a few seconds per run: checks the script, measures nothing
#   loadtest/cluster.sh               # DURATION=20s KEYS=2000 per run
#   MODES=cluster loadtest/cluster.sh # only the clustered run
#
# Everything talks to 127.0.0.1 only and stops only the processes it started, by PID.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=lib/common.sh
. "$HERE/lib/common.sh"

SMOKE=${SMOKE:-0}
if [[ $SMOKE == 1 ]]; then
  : "${DURATION:=5s}" "${KEYS:=200}" "${WRK_CONNS:=1x4}"
else
  : "${DURATION:=20s}" "${KEYS:=2000}" "${WRK_CONNS:=2x32}"
fi
MODES=${MODES:-cluster independent}
SIZE=${SIZE:-16k}                       # body size of every key
BASE_PORT=${BASE_PORT:-18300}           # origin BASE, nodes BASE+1..3, admin BASE+11..13, Hazelcast BASE+21..23
EVENT_LOOPS=${EVENT_LOOPS:-1}           # per node: three nodes share this machine
ZCPROXY_JAVA_OPTS=${ZCPROXY_JAVA_OPTS:--Xms64m -Xmx192m -XX:MaxDirectMemorySize=64m -Xss512k}
JAR=${JAR:-$ROOT/proxy/target/zcproxy.jar}
KEEP=${KEEP:-0}
HOST_HEADER=${HOST_HEADER:-site.test}
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo nocommit)
OUT=${OUT:-$HERE/results/CLUSTER-$(date +%Y%m%d-%H%M%S)-$COMMIT.md}
WORK=${WORK:-$(mktemp -d /tmp/zcproxy-cluster.XXXXXX)}
mkdir -p "$WORK"
SECRET=loadtest-cluster-secret-0123456789
TOKEN=loadtest-admin-token-0123456789

need wrk wrk || die "wrk not found"
[[ -f $JAR ]] || build_jar "$ROOT"
[[ -f $JAR ]] || die "no jar at $JAR"

ORIGIN=127.0.0.1:$BASE_PORT
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do stop_pid "$p" zcproxy; done
  stop_pid "${ORIGIN_PID:-}" origin
  if [[ $KEEP != 1 ]]; then rm -rf "$WORK"; else log "kept $WORK"; fi
}
trap cleanup EXIT

log "origin on $ORIGIN, work dir $WORK"
start_origin "$JAR" "$ORIGIN" "$WORK/origin" 1 "" "$WORK/origin.log" || die "origin did not start"

# node_yaml N MODE: the config of node N (1..3)
node_yaml() {
  local n=$1 mode=$2
  cat <<YAML
listen: {address: "127.0.0.1:$((BASE_PORT + n))", event-loops: $EVENT_LOOPS}
origin: {url: "http://$ORIGIN"}
cache: {dir: "$WORK/$mode-cache$n", max-size: 1GiB}
admin: {address: "127.0.0.1:$((BASE_PORT + 10 + n))", token: "$TOKEN"}
logging: {access-log: "off", level: warn}
cluster:
  enabled: $([[ $mode == cluster ]] && echo true || echo false)
  secret: "$SECRET"
  port: $((BASE_PORT + 20 + n))
  members: [127.0.0.1:$((BASE_PORT + 21)), 127.0.0.1:$((BASE_PORT + 22)), 127.0.0.1:$((BASE_PORT + 23))]
YAML
}

# stat_of N NAME: the count of outcome NAME in node N's /stats
stat_of() {
  curl -s --max-time 5 "http://127.0.0.1:$((BASE_PORT + 10 + $1))/stats" |
    sed -nE "s/.*\"responses\":\\{[^}]*\"$2\":([0-9]+).*/\\1/p"
}

{
  echo "# zcproxy cluster vs independent nodes ($(date -u +%Y-%m-%dT%H:%MZ), commit $COMMIT)"
  echo
  echo "3 nodes on one machine ($(nproc) cores), demo origin, wrk $WRK_CONNS at each node for $DURATION over $KEYS cold keys of $SIZE"
  echo "(the same Host on every node). Origin requests per key: 1 means the cluster fetched each object once."
  echo
  echo "| mode | node | requests | req/s | HIT | MISS | hit ratio |"
  echo "|---|---|---|---|---|---|---|"
} >"$WORK/table.md"
SUMMARY=()

for mode in $MODES; do
  salt=$mode-$RANDOM
  PIDS=()
  for n in 1 2 3; do
    node_yaml "$n" "$mode" >"$WORK/$mode-node$n.yaml"
    # shellcheck disable=SC2086 # options are a list
    java $ZCPROXY_JAVA_OPTS -jar "$JAR" --config "$WORK/$mode-node$n.yaml" >"$WORK/$mode-node$n.log" 2>&1 &
    PIDS+=($!)
  done
  for n in 1 2 3; do
    wait_http "http://127.0.0.1:$((BASE_PORT + 10 + n))/health" 120 "${PIDS[$((n - 1))]}" || die "node $n ($mode) did not start: see $WORK/$mode-node$n.log"
  done
  if [[ $mode == cluster ]]; then
    for ((i = 0; i < 600; i++)); do
      all=1
      for n in 1 2 3; do
        curl -s "http://127.0.0.1:$((BASE_PORT + 10 + n))/health" | grep -q ' 3 members' || all=0
      done
      [[ $all == 1 ]] && break
      sleep 0.1
    done
    [[ $all == 1 ]] || die "the three nodes did not form one cluster"
  fi
  for n in 1 2 3; do # one request each first: a cold JVM's first answer can take seconds on a busy machine
    curl -s -o /dev/null --max-time 60 -H "Host: $HOST_HEADER" "http://127.0.0.1:$((BASE_PORT + n))/bytes/1k?k=warm$n&e=warmup" || true
  done
  log "$mode: three nodes up; wrk $WRK_CONNS for $DURATION at each"
  threads=${WRK_CONNS%x*}
  conns=${WRK_CONNS#*x}
  for n in 1 2 3; do
    wrk -t"$threads" -c"$conns" -d"$DURATION" --timeout 30s -H "Host: $HOST_HEADER" \
      -s "$HERE/scenarios/keys.lua" "http://127.0.0.1:$((BASE_PORT + n))" -- keys="$KEYS" size="$SIZE" salt="$salt" \
      >"$WORK/$mode-wrk$n.txt" 2>&1 &
    WRK[$n]=$!
  done
  for n in 1 2 3; do wait "${WRK[$n]}" || true; done
  total_rps=0 total_hit=0 total_all=0 total_reqs=0
  for n in 1 2 3; do
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$WORK/$mode-wrk$n.txt")
    reqs=$(awk '/requests in/ {print $1}' "$WORK/$mode-wrk$n.txt")
    hit=$(stat_of "$n" HIT); miss=$(stat_of "$n" MISS)
    hit=${hit:-0} miss=${miss:-0}
    all=$((hit + miss))
    ratio=$(awk -v h="$hit" -v a="$all" 'BEGIN { printf "%.3f", a ? h / a : 0 }')
    echo "| $mode | $n | ${reqs:-?} | ${rps:-?} | $hit | $miss | $ratio |" >>"$WORK/table.md"
    total_rps=$(awk -v a="$total_rps" -v b="${rps:-0}" 'BEGIN { printf "%.0f", a + b }')
    total_hit=$((total_hit + hit)) total_all=$((total_all + all)) total_reqs=$((total_reqs + ${reqs:-0}))
  done
  read -r oreq okeys omax < <(origin_match "$ORIGIN" "e=$salt") || true
  per_key=$(awk -v r="${oreq:-0}" -v k="${okeys:-0}" 'BEGIN { printf "%.2f", k ? r / k : 0 }')
  ratio=$(awk -v h="$total_hit" -v a="$total_all" 'BEGIN { printf "%.3f", a ? h / a : 0 }')
  offload=$(awk -v o="${oreq:-0}" -v r="$total_reqs" 'BEGIN { printf "%.3f", r ? 1 - o / r : 0 }')
  SUMMARY+=("| $mode | $total_rps | $ratio | $offload | ${oreq:-?} | ${okeys:-?} | $per_key | ${omax:-?} |")
  if [[ $mode == cluster ]]; then
    for n in 1 2 3; do
      log "node $n: $(curl -s "http://127.0.0.1:$((BASE_PORT + 10 + n))/health" | tail -1)"
    done
  fi
  for p in "${PIDS[@]}"; do stop_pid "$p" zcproxy; done
  PIDS=()
done

{
  cat "$WORK/table.md"
  echo
  echo "| mode | total req/s | cluster-wide hit ratio | 1 - origin/client requests | origin requests | keys | origin requests per key | most per key |"
  echo "|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${SUMMARY[@]}"
} >"$OUT"
cat "$OUT"
log "written $OUT"
