# Helpers shared by run.sh and syscalls.sh (sourced, not executed).
# Everything here talks to 127.0.0.1 only and stops only the processes it started, by PID.

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# need CMD PACKAGE: install PACKAGE with apt-get when CMD is missing and INSTALL=1.
need() {
  local cmd=$1 pkg=$2
  command -v "$cmd" >/dev/null 2>&1 && return 0
  if [[ ${INSTALL:-1} == 1 && $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    log "installing $pkg (for $cmd)"
    if [[ -z ${APT_UPDATED:-} ]]; then apt-get update -qq >/dev/null 2>&1 || true; APT_UPDATED=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null 2>&1 || true
  fi
  command -v "$cmd" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin command -v "$cmd" >/dev/null 2>&1
}

# wait_http URL SECONDS [PID]: poll until URL answers (any HTTP status); fail early if PID died.
wait_http() {
  local url=$1 secs=$2 pid=${3:-} i
  for ((i = 0; i < secs * 10; i++)); do
    if curl -s -o /dev/null --max-time 1 "$url"; then return 0; fi
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    sleep 0.1
  done
  return 1
}

# stop_pid PID [NAME]: TERM, wait up to 10 s, then KILL. Only ever called with PIDs we started.
stop_pid() {
  local pid=$1 name=${2:-process} i
  [[ -n $pid ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  log "$name ($pid) did not stop on TERM; sending KILL"
  kill -KILL "$pid" 2>/dev/null || true
}

# tree_pids PID: PID and all its descendants.
tree_pids() {
  local p=$1 c
  echo "$p"
  for c in $(pgrep -P "$p" 2>/dev/null); do tree_pids "$c"; done
}

# cpu_ticks PID: utime+stime (clock ticks) summed over PID and its descendants, from /proc/PID/stat.
cpu_ticks() {
  local total=0 p stat rest
  for p in $(tree_pids "$1"); do
    stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    rest=${stat##*) }            # fields after "pid (comm) ": state is $1, utime $12, stime $13
    set -- $rest
    total=$((total + ${12} + ${13}))
  done
  echo "$total"
}

# java_home JAVA: the JDK directory of a java binary (a name on PATH or a path), links resolved.
java_home() {
  dirname "$(dirname "$(readlink -f "$(command -v "$1")")")"
}

# launcher_opts [JAVA]: the JVM options bin/zcproxy gives JAVA (default: java on PATH) when ZCPROXY_JAVA_OPTS is not
# set: its default line, read from the script, and -XX:TrimNativeHeapInterval=10000 when that JVM knows the flag (as
# bin/zcproxy adds it). A script that passes ZCPROXY_JAVA_OPTS to add options of its own starts from these, so it
# measures what bin/zcproxy runs (a copy of the line went stale when bin/zcproxy gained its Tier4 thresholds).
launcher_opts() {
  local java=${1:-java} launcher opts home
  launcher=$(dirname "${BASH_SOURCE[0]}")/../../bin/zcproxy
  opts=$(sed -n 's/^opts=\${ZCPROXY_JAVA_OPTS:-\(.*\)}$/\1/p' "$launcher")
  [[ -n $opts ]] || { log "no default JVM options found in $launcher"; return 1; }
  home=$(java_home "$java")
  if grep -q TrimNativeHeapInterval "$home/lib/server/libjvm.so" 2>/dev/null; then opts="$opts -XX:TrimNativeHeapInterval=10000"; fi
  echo "$opts"
}

# hwm_kb PID: peak resident set (VmHWM, kB) summed over PID and its descendants.
hwm_kb() {
  local total=0 p v
  for p in $(tree_pids "$1"); do
    v=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null) || continue
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

# origin_total HOSTPORT: the demo origin's request counter.
origin_total() {
  curl -s --max-time 5 "http://$1/__stats" | sed -nE 's/^\{"total":([0-9]+).*/\1/p'
}

# origin_match HOSTPORT SUBSTRING: "requests keys maxPerKey" of URIs containing SUBSTRING.
origin_match() {
  curl -s --max-time 10 -G "http://$1/__stats" --data-urlencode "match=$2" |
    sed -nE 's/.*"match":\{"substring":"[^"]*","requests":([0-9]+),"keys":([0-9]+),"maxPerKey":([0-9]+)\}.*/\1 \2 \3/p'
}

# start_origin JAR HOST:PORT DATADIR LOOPS GENERATE LOGFILE: starts the demo origin in the
# background, sets ORIGIN_PID; returns non-zero if it does not listen within 60 s.
start_origin() {
  local jar=$1 listen=$2 data=$3 loops=$4 gen=$5 logf=$6
  java ${ORIGIN_JAVA_OPTS:-} -cp "$jar" dev.zcproxy.proxy.demo.DemoOrigin \
    --listen "$listen" --data-dir "$data" --event-loops "$loops" ${gen:+--generate "$gen"} \
    >"$logf" 2>&1 &
  ORIGIN_PID=$!
  wait_http "http://$listen/__stats" 60 "$ORIGIN_PID"
}

# build_jar ROOT: builds proxy/target/zcproxy.jar with Maven (tests skipped).
build_jar() {
  local root=$1
  need mvn maven || die "mvn not found; build proxy/target/zcproxy.jar first"
  log "building zcproxy.jar (mvn, tests skipped)"
  (cd "$root" && mvn -B -q -N install -DskipTests && mvn -B -q -pl cache install -DskipTests &&
    mvn -B -q -pl proxy package -DskipTests) >&2
}
