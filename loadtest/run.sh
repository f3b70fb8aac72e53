#!/usr/bin/env bash
# loadtest/run.sh: wrk comparison of zcproxy with nginx (proxy_cache), Varnish and HAProxy (its RAM
# cache), against the demo origin's own sendfile ("direct"), all on 127.0.0.1. See loadtest/README.md.
#
#   QUICK=1 loadtest/run.sh          # about 3 minutes
#   loadtest/run.sh                  # full run: all sizes, both connection settings, 3 rounds
#   TARGETS="direct nginx" SCENARIOS="hit" SIZES="1m" loadtest/run.sh
#
# Every knob is an environment variable; the defaults are printed at start and kept in
# results/<date>-<commit>/env.txt.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=lib/common.sh
. "$HERE/lib/common.sh"

QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
  : "${DURATION:=2s}" "${ROUNDS:=1}" "${SIZES:=1k 256k 16m}" "${WARMUP:=1s}"
else
  : "${DURATION:=5s}" "${ROUNDS:=3}" "${SIZES:=1k 16k 256k 1m 16m 100m}" "${WARMUP:=3s}"
fi
TARGETS=${TARGETS:-direct zcproxy nginx varnish haproxy}
SCENARIOS=${SCENARIOS:-hit pass keys zipf storm}
CONNS=${CONNS:-1x16 2x128}              # wrk settings as THREADSxCONNECTIONS, the same for every target
WRK_TIMEOUT=${WRK_TIMEOUT:-60s}         # wrk --timeout: large bodies at 128 connections take seconds
KEYS=${KEYS:-10000}                     # keys scenario: distinct URLs, warmed once per target
KEY_SIZE=${KEY_SIZE:-4k}                   # keys scenario body size: the issue's row is 10,000 distinct 4 KiB keys (40 MiB, more than the default RAM tier)
ZIPF_KEYS=${ZIPF_KEYS:-10000}
ZIPF_S=${ZIPF_S:-1.0}
ZIPF_NOSTORE=${ZIPF_NOSTORE:-1}         # percent of zipf requests that ask for the no-store twin
STORM_KEYS=${STORM_KEYS:-16}
STORM_SIZE=${STORM_SIZE:-256k}
STORM_RATE=${STORM_RATE:-1m}            # origin bytes/s per storm response: slow, so requests overlap
STORM_CONNS=${STORM_CONNS:-}            # default: the last entry of CONNS
ORIGIN_PORT=${ORIGIN_PORT:-18081}
ZCPROXY_PORT=${ZCPROXY_PORT:-18080}
ZCPROXY_ADMIN_PORT=${ZCPROXY_ADMIN_PORT:-18090}
NGINX_PORT=${NGINX_PORT:-18082}
VARNISH_PORT=${VARNISH_PORT:-18083}
HAPROXY_PORT=${HAPROXY_PORT:-18084}
FLOOR_PORT=${FLOOR_PORT:-18085}         # target "floor" (not in the default TARGETS): loadtest/floor/Floor.java, the
                                        # least a cache on this JVM and Netty's epoll costs (RAM map, no RFC 9111)
FLOOR_URING_PORT=${FLOOR_URING_PORT:-18086}  # target "floor_uring": the same on Netty's io_uring transport,
FLOOR_URING_CP=${FLOOR_URING_CP:-}      # with these jars added (netty-transport-classes-io_uring, its native jar)
HAPROXY_THREADS=${HAPROXY_THREADS:-$(nproc)}
HAPROXY_MAX_OBJECT=${HAPROXY_MAX_OBJECT:-}  # HAProxy cache max-object-size in bytes; default: under half its RAM (its limit)
ORIGIN_EVENT_LOOPS=${ORIGIN_EVENT_LOOPS:-$(nproc)}
NGINX_WORKERS=${NGINX_WORKERS:-$(nproc)}
CACHE_SIZE=${CACHE_SIZE:-2GiB}          # for every cache: zcproxy --cache-size, nginx max_size, Varnish file
NGINX_CACHE_LOCK=${NGINX_CACHE_LOCK:-on}   # nginx proxy_cache_lock: on coalesces misses, but also
                                        # serialises requests for a no-store URL (see README)
VARNISH_TRANSIENT=${VARNISH_TRANSIENT:-2G}  # Varnish keeps pass bodies in Transient (malloc): bound it
ZCPROXY_JAVA_OPTS=${ZCPROXY_JAVA_OPTS:-}   # empty: bin/zcproxy's defaults (zcproxy is started through bin/zcproxy)
ZCPROXY_ARGS=${ZCPROXY_ARGS:---access-log off}   # extra zcproxy flags (access log off, as nginx access_log off)
JAR=${JAR:-$ROOT/proxy/target/zcproxy.jar}
BUILD=${BUILD:-auto}                    # auto: build the jar when missing; 1: always; 0: never
INSTALL=${INSTALL:-1}                   # apt-get install wrk/nginx/varnish when missing (as root)
KEEP=${KEEP:-0}                         # keep the work dir (caches, configs, logs) after the run
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo nocommit)
RESULTS=${RESULTS:-$HERE/results/$(date +%Y%m%d-%H%M%S)-$COMMIT}
WORK=${WORK:-$(mktemp -d /tmp/zcproxy-loadtest.XXXXXX)}

mkdir -p "$RESULTS" "$WORK"
chmod 755 "$WORK"
TSV=$RESULTS/raw.tsv
SUMMARY=$RESULTS/summary.md
STATUS=$RESULTS/targets.txt
: >"$STATUS"

# ---------------------------------------------------------------------------------------------
# cleanup: stop everything we started, by PID
declare -A PID=()      # target -> PID whose process tree is measured
declare -A PORT=()     # target -> port
declare -A EXCLUDED=() # target -> reason
ORIGIN_PID=
cleanup() {
  trap "" INT TERM  # a second Ctrl-C or TERM must not cut the cleanup short
  local t
  for t in zcproxy nginx varnish haproxy floor floor_uring; do
    [[ -n ${PID[$t]:-} ]] && stop_pid "${PID[$t]}" "$t"
  done
  [[ -n $ORIGIN_PID ]] && stop_pid "$ORIGIN_PID" origin
  if [[ $KEEP == 1 ]]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

exclude() { EXCLUDED[$1]=$2; printf '%s\texcluded\t%s\n' "$1" "$2" >>"$STATUS"; log "EXCLUDED $1: $2"; }

# ---------------------------------------------------------------------------------------------
# tools and environment
need wrk wrk || die "wrk not found (apt-get install wrk)"
need curl curl || die "curl not found"
if [[ $BUILD == 1 || ($BUILD == auto && ! -f $JAR) ]]; then build_jar "$ROOT"; fi
[[ -f $JAR ]] || die "no $JAR (build it: mvn -pl proxy package)"

sizes_csv=$(echo $SIZES $KEY_SIZE 16k 256k | tr ' ' '\n' | sort -u | paste -sd, -)
{
  echo "date: $(date -Is)"
  echo "commit: $COMMIT"
  echo "kernel: $(uname -r)"
  echo "cpus: $(nproc) ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'))"
  echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "java: $(java -version 2>&1 | head -1)"
  echo "wrk: $(wrk -v 2>&1 | head -1)"
  echo "knobs: QUICK=$QUICK DURATION=$DURATION ROUNDS=$ROUNDS SIZES='$SIZES' CONNS='$CONNS'"
  echo "       TARGETS='$TARGETS' SCENARIOS='$SCENARIOS' KEYS=$KEYS ZIPF_KEYS=$ZIPF_KEYS ZIPF_S=$ZIPF_S"
  echo "       ZIPF_NOSTORE=$ZIPF_NOSTORE% STORM_KEYS=$STORM_KEYS STORM_SIZE=$STORM_SIZE STORM_RATE=$STORM_RATE"
  echo "       CACHE_SIZE=$CACHE_SIZE WRK_TIMEOUT=$WRK_TIMEOUT ORIGIN_EVENT_LOOPS=$ORIGIN_EVENT_LOOPS NGINX_WORKERS=$NGINX_WORKERS HAPROXY_THREADS=$HAPROXY_THREADS"
  if [[ -n $ZCPROXY_JAVA_OPTS ]]; then echo "zcproxy java opts: $ZCPROXY_JAVA_OPTS"
  else echo "zcproxy java opts (bin/zcproxy's defaults): $(launcher_opts)"; fi
  if command -v haproxy >/dev/null || [[ -x /usr/sbin/haproxy ]]; then echo "haproxy: $(PATH=$PATH:/usr/sbin haproxy -v 2>&1 | head -1)"; fi
} >"$RESULTS/env.txt"
sed 's/^/  /' "$RESULTS/env.txt" >&2
log "results: $RESULTS"
log "work dir: $WORK"

# ---------------------------------------------------------------------------------------------
# origin
ORIGIN=127.0.0.1:$ORIGIN_PORT
mkdir -p "$WORK/data"
log "starting demo origin on $ORIGIN (generating $sizes_csv)"
start_origin "$JAR" "$ORIGIN" "$WORK/data" "$ORIGIN_EVENT_LOOPS" "$sizes_csv" "$RESULTS/origin.log" ||
  die "demo origin did not start: $(tail -3 "$RESULTS/origin.log")"
log "$(head -1 "$RESULTS/origin.log")"

# ---------------------------------------------------------------------------------------------
# targets
start_direct() { PID[direct]=$ORIGIN_PID; PORT[direct]=$ORIGIN_PORT; }

start_zcproxy() {
  local dir=$WORK/zcproxy
  mkdir -p "$dir/cache"
  # bin/zcproxy, so the run measures its JVM options and environment (it execs java: PID is the JVM)
  # shellcheck disable=SC2086
  ZCPROXY_JAR=$JAR ZCPROXY_JAVA_OPTS=$ZCPROXY_JAVA_OPTS "$ROOT/bin/zcproxy" --listen "127.0.0.1:$ZCPROXY_PORT" --origin "http://$ORIGIN" \
    --cache-dir "$dir/cache" --cache-size "$CACHE_SIZE" --admin "127.0.0.1:$ZCPROXY_ADMIN_PORT" \
    $ZCPROXY_ARGS >"$RESULTS/zcproxy.log" 2>&1 &
  PID[zcproxy]=$!
  PORT[zcproxy]=$ZCPROXY_PORT
  if ! wait_http "http://127.0.0.1:$ZCPROXY_PORT/" 30 "${PID[zcproxy]}"; then
    local why
    why=$(grep -m1 -E 'Exception|Error|error' "$RESULTS/zcproxy.log" || tail -1 "$RESULTS/zcproxy.log")
    stop_pid "${PID[zcproxy]}" zcproxy
    PID[zcproxy]=
    exclude zcproxy "did not start (${why:-no output}); see zcproxy.log"
    return 1
  fi
}

nginx_size() { # 2GiB -> 2g, 512MiB -> 512m
  echo "$1" | sed -E 's/[iI]?[bB]$//; s/([0-9]+)([kKmMgG])$/\1\L\2/'
}

start_nginx() {
  need nginx nginx || { exclude nginx "nginx not installed"; return 1; }
  local dir=$WORK/nginx nginx_bin
  nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
  mkdir -p "$dir"/{cache,tmp,logs}
  cat >"$dir/nginx.conf" <<EOF
# generated by loadtest/run.sh
$([[ $(id -u) == 0 ]] && echo "user root;  # the work dir is private to the user running the test")
worker_processes $NGINX_WORKERS;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 75s;
  keepalive_requests 1000000;
  client_body_temp_path $dir/tmp/client;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  proxy_cache_path $dir/cache levels=1:2 keys_zone=zc:64m max_size=$(nginx_size "$CACHE_SIZE") inactive=1d use_temp_path=off;
  upstream origin {
    server $ORIGIN;
    keepalive 128;
  }
  server {
    listen 127.0.0.1:$NGINX_PORT backlog=4096;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache zc;
      proxy_cache_lock $NGINX_CACHE_LOCK;  # coalesce misses (waiters poll every 500 ms)
      proxy_cache_lock_timeout 30s;
      proxy_cache_lock_age 30s;
      add_header X-Cache \$upstream_cache_status;
    }
  }
}
EOF
  "$nginx_bin" -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" 2>"$RESULTS/nginx.log" ||
    { exclude nginx "did not start: $(tail -1 "$RESULTS/nginx.log")"; return 1; }
  local i
  for ((i = 0; i < 50; i++)); do [[ -s $dir/nginx.pid ]] && break; sleep 0.1; done
  PID[nginx]=$(cat "$dir/nginx.pid" 2>/dev/null || true)
  PORT[nginx]=$NGINX_PORT
  wait_http "http://127.0.0.1:$NGINX_PORT/" 10 "${PID[nginx]}" ||
    { exclude nginx "not answering; see $dir/logs/error.log"; return 1; }
}

start_varnish() {
  need varnishd varnish || { exclude varnish "varnish not installed"; return 1; }
  local dir=$WORK/varnish vbin
  vbin=$(command -v varnishd || echo /usr/sbin/varnishd)
  mkdir -p "$dir/work"
  cat >"$dir/default.vcl" <<EOF
# generated by loadtest/run.sh; the built-in VCL does the rest (no-store -> uncacheable)
vcl 4.1;
backend origin {
  .host = "127.0.0.1";
  .port = "$ORIGIN_PORT";
}
sub vcl_deliver {
  if (obj.hits > 0) { set resp.http.X-Cache = "HIT"; } else { set resp.http.X-Cache = "MISS"; }
}
EOF
  "$vbin" -n "$dir/work" -a "127.0.0.1:$VARNISH_PORT" -f "$dir/default.vcl" -P "$dir/varnishd.pid" \
    -s "file,$dir/storage.bin,$(echo "$CACHE_SIZE" | sed -E 's/[iI]?[bB]$//')" \
    -s "Transient=malloc,$VARNISH_TRANSIENT" -j none \
    -p thread_pool_min=200 >"$RESULTS/varnish.log" 2>&1 ||
    { exclude varnish "did not start: $(tail -2 "$RESULTS/varnish.log" | tr '\n' ' ')"; return 1; }
  local i
  for ((i = 0; i < 50; i++)); do [[ -s $dir/varnishd.pid ]] && break; sleep 0.1; done
  PID[varnish]=$(cat "$dir/varnishd.pid" 2>/dev/null || true)
  PORT[varnish]=$VARNISH_PORT
  wait_http "http://127.0.0.1:$VARNISH_PORT/" 20 "${PID[varnish]}" ||
    { exclude varnish "not answering; see varnish.log"; return 1; }
}

mib_of() { # 2GiB -> 2048, 512MiB -> 512 (HAProxy's total-max-size is in MiB, at most 4095)
  awk -v s="$1" 'BEGIN {
    n = s + 0; u = tolower(s); sub(/^[0-9.]+ */, "", u); sub(/i?b$/, "", u)
    if (u == "k") n /= 1024; else if (u == "g") n *= 1024; else if (u == "t") n *= 1048576; else if (u == "") n /= 1048576
    n = int(n); if (n > 4095) n = 4095; if (n < 1) n = 1; print n }'
}

start_haproxy() {
  need haproxy haproxy || { exclude haproxy "haproxy not installed"; return 1; }
  local dir=$WORK/haproxy hbin mib max conns nofile
  hbin=$(command -v haproxy || echo /usr/sbin/haproxy)
  mkdir -p "$dir"
  mib=$(mib_of "$CACHE_SIZE")
  max=${HAPROXY_MAX_OBJECT:-$((mib * 1048576 / 2 - 1))}
  nofile=$(ulimit -n); [[ $nofile == unlimited ]] && nofile=65536
  conns=$(((nofile - 64) / 2)); ((conns > 8192)) && conns=8192  # each connection takes 2 fds (client, origin)
  cat >"$dir/haproxy.cfg" <<EOF
# generated by loadtest/run.sh: HAProxy's RAM cache (shared memory) in front of the demo origin
global
  nbthread $HAPROXY_THREADS
  maxconn $conns
  pidfile $dir/haproxy.pid
defaults
  mode http
  timeout connect 5s
  timeout client 75s
  timeout server 60s
  timeout http-keep-alive 75s
  option http-keep-alive
  http-reuse always
cache zc
  total-max-size $mib
  max-object-size $max
  max-age 86400
  process-vary on
frontend fe
  bind 127.0.0.1:$HAPROXY_PORT backlog 4096
  http-request cache-use zc
  http-response cache-store zc
  http-response set-header X-Cache HIT if { res.cache_hit }
  default_backend origin
backend origin
  server origin $ORIGIN maxconn 1024
EOF
  "$hbin" -c -q -f "$dir/haproxy.cfg" >"$RESULTS/haproxy.log" 2>&1 ||
    { exclude haproxy "config rejected: $(grep -m1 -i alert "$RESULTS/haproxy.log")"; return 1; }
  "$hbin" -D -f "$dir/haproxy.cfg" >>"$RESULTS/haproxy.log" 2>&1 ||
    { exclude haproxy "did not start: $(tail -1 "$RESULTS/haproxy.log")"; return 1; }
  local i
  for ((i = 0; i < 50; i++)); do [[ -s $dir/haproxy.pid ]] && break; sleep 0.1; done
  PID[haproxy]=$(head -1 "$dir/haproxy.pid" 2>/dev/null || true)
  PORT[haproxy]=$HAPROXY_PORT
  wait_http "http://127.0.0.1:$HAPROXY_PORT/" 10 "${PID[haproxy]}" ||
    { exclude haproxy "not answering; see haproxy.log"; return 1; }
}

start_floor() { # [transport]: floor on epoll, or floor_uring (FLOOR_URING_CP: Netty's io_uring jars)
  local name=${1:-floor} port=$FLOOR_PORT cp=$JAR extra= opts
  if [[ $name == floor_uring ]]; then
    port=$FLOOR_URING_PORT extra=-Dfloor.transport=io_uring
    [[ -n $FLOOR_URING_CP ]] || { exclude floor_uring "FLOOR_URING_CP (netty-transport-classes-io_uring and native jars) not set"; return 1; }
    cp=$JAR:$FLOOR_URING_CP
  fi
  # bin/zcproxy's JVM options, so the floor runs on the same heap and collector as zcproxy
  opts=${ZCPROXY_JAVA_OPTS:-$(launcher_opts)}
  # shellcheck disable=SC2086
  java $opts $extra -cp "$cp" "$HERE/floor/Floor.java" "127.0.0.1:$port" "$ORIGIN" "$(nproc)" >"$RESULTS/$name.log" 2>&1 &
  PID[$name]=$!
  PORT[$name]=$port
  wait_http "http://127.0.0.1:$port/" 60 "${PID[$name]}" || { exclude "$name" "did not start; see $name.log"; return 1; }
}
start_floor_uring() { start_floor floor_uring; }

ACTIVE=()
for t in $TARGETS; do
  case $t in direct | zcproxy | nginx | varnish | haproxy | floor | floor_uring) ;; *) die "unknown target $t (expected: direct zcproxy nginx varnish haproxy floor floor_uring)" ;; esac

  log "starting $t"
  if "start_$t"; then ACTIVE+=("$t"); log "$t up on 127.0.0.1:${PORT[$t]} (pid ${PID[$t]})"; fi
done

# ---------------------------------------------------------------------------------------------
# checks: identical bytes, hits never reach the origin, no-store always does
sha_of() { curl -s --max-time 120 "$1" | sha256sum | cut -d' ' -f1; }
code_of() { curl -s -o /dev/null --max-time 120 -w '%{http_code}' "$1"; }

check_target() {
  local t=$1 base=http://127.0.0.1:${PORT[$t]} s want got before after n i url
  for s in $SIZES; do
    want=$(sha256sum <"$WORK/data/$s" | cut -d' ' -f1)
    for url in "/files/$s" "/nostore/files/$s" "/bytes/$s?check=1"; do
      got=$(sha_of "$base$url")
      [[ $got == "$want" ]] || { echo "body of $url differs from the origin's file (sha256 $got, expected $want)"; return 1; }
    done
  done
  [[ $t == direct ]] && return 0
  # hits: the URLs above are now cached; fetch them again and count origin requests
  for s in $SIZES; do
    for url in "/files/$s" "/bytes/$s?check=1"; do
      before=$(origin_total "$ORIGIN")
      for i in 1 2 3; do
        n=$(code_of "$base$url")
        [[ $n == 200 ]] || { echo "$url answered $n on a repeat"; return 1; }
      done
      after=$(origin_total "$ORIGIN")
      ((after == before)) || { echo "3 repeated requests for cached $url reached the origin $((after - before)) times (expected 0)"; return 1; }
    done
  done
  # no-store: every request must reach the origin
  url=/nostore/files/$(set -- $SIZES; echo "$1")
  before=$(origin_total "$ORIGIN")
  for i in 1 2 3 4 5; do code_of "$base$url" >/dev/null; done
  after=$(origin_total "$ORIGIN")
  ((after - before == 5)) || { echo "5 requests for no-store $url reached the origin $((after - before)) times (expected 5)"; return 1; }
  return 0
}

MEASURED=()
for t in "${ACTIVE[@]}"; do
  log "checking $t: sha256 of every body, hits reach the origin 0 times, no-store always"
  if why=$(check_target "$t"); then
    MEASURED+=("$t")
    printf '%s\tok\tbodies identical; hits 0 origin requests; no-store always forwarded\n' "$t" >>"$STATUS"
    log "$t passed the checks"
  else
    exclude "$t" "failed the checks: $why"
  fi
done
((${#MEASURED[@]} > 0)) || die "no target passed the checks"

# ---------------------------------------------------------------------------------------------
# measuring
printf 'round\tscenario\tparam\tconns\ttarget\trequests\tduration_s\trps\tbytes\tmbps\tp50_ms\tp90_ms\tp99_ms\terr_connect\terr_read\terr_write\terr_status\terr_timeout\torigin_reqs\torigin_per_req\tcpu_s\tcpu_s_per_10k\tcpu_s_per_gb\trss_peak_mb\torigin_per_key\n' >"$TSV"
TICKS=$(getconf CLK_TCK)
[[ -n $STORM_CONNS ]] || STORM_CONNS=$(set -- $CONNS; eval echo "\${$#}")

# one (scenario, param, conns) job per line; targets interleave within each and rotate per round
JOBS=()
for sc in $SCENARIOS; do
  case $sc in
    hit | pass) for s in $SIZES; do for c in $CONNS; do JOBS+=("$sc $s $c"); done; done ;;
    keys) for c in $CONNS; do JOBS+=("keys $KEYS $c"); done ;;
    zipf) for c in $CONNS; do JOBS+=("zipf $ZIPF_KEYS $c"); done ;;
    storm) JOBS+=("storm $STORM_KEYS $STORM_CONNS") ;;
    *) die "unknown scenario $sc (expected: hit pass keys zipf storm)" ;;
  esac
done
TOTAL=$((${#JOBS[@]} * ${#MEASURED[@]} * ROUNDS))
log "measuring: ${#JOBS[@]} jobs x ${#MEASURED[@]} targets (${MEASURED[*]}) x $ROUNDS rounds = $TOTAL wrk runs of $DURATION"

declare -A KEYS_WARM=()
warm_keys() { # curl every key once, 4 parallel curls each reusing its connection
  local t=$1 base=http://127.0.0.1:${PORT[$t]} q=$((KEYS / 4)) i lo hi pids=()
  for ((i = 0; i < 4; i++)); do
    lo=$((i * q)); hi=$(((i == 3) ? KEYS - 1 : (i + 1) * q - 1))
    curl -s "$base/bytes/$KEY_SIZE?k=[$lo-$hi]&e=keys" >/dev/null &
    pids+=($!)
  done
  wait "${pids[@]}" || true  # only the curls: a bare wait would also wait for the origin
  KEYS_WARM[$t]=1
}

RUN=0
run_one() { # round scenario param conns target
  local round=$1 sc=$2 param=$3 conns=$4 t=$5
  local th=${conns%x*} co=${conns#*x} base=http://127.0.0.1:${PORT[$t]} args salt out
  salt="r$round-$t-$conns-$RANDOM"
  case $sc in
    hit) curl -s -o /dev/null "$base/files/$param"; args="size=$param" ;;
    pass) args="size=$param" ;;
    keys) [[ -n ${KEYS_WARM[$t]:-} ]] || warm_keys "$t"; args="keys=$KEYS size=$KEY_SIZE salt=keys" ;;
    zipf) args="keys=$ZIPF_KEYS s=$ZIPF_S nostore=$ZIPF_NOSTORE salt=$salt" ;;
    storm) args="keys=$STORM_KEYS size=$STORM_SIZE rate=$STORM_RATE salt=$salt" ;;
  esac
  local pid=${PID[$t]} o0 o1 c0 c1 per_key=-
  local ns0=
  # zipf: the origin's no-store counts before the run (its no-store URLs carry the salt after the rank, so a match on
  # the salt counts them too; the difference over the run separates them from the storable keys)
  [[ $sc == zipf ]] && ns0=$(origin_match "$ORIGIN" "/nostore/bytes/")
  o0=$(origin_total "$ORIGIN"); c0=$(cpu_ticks "$pid")
  # shellcheck disable=SC2086
  out=$(wrk -t"$th" -c"$co" -d"$DURATION" --timeout "$WRK_TIMEOUT" -s "$HERE/scenarios/$sc.lua" "$base" -- $args 2>&1) || true
  c1=$(cpu_ticks "$pid"); o1=$(origin_total "$ORIGIN")
  local rss; rss=$(hwm_kb "$pid")
  if [[ $sc == storm ]]; then
    local m; m=$(origin_match "$ORIGIN" "s=$salt-")
    per_key=$(awk -v m="$m" -v k="$STORM_KEYS" 'BEGIN { split(m, a, " "); printf "%.2f", a[1] / k }')
  elif [[ $sc == zipf ]]; then
    # origin requests per storable key asked in this run (1.00: each fetched once; no-store URLs left out): how
    # often a target fetched the same cacheable key again, whatever its throughput (origin req/req falls as a
    # target serves more requests in the same seconds, because the number of distinct keys grows slower)
    local m ns1; m=$(origin_match "$ORIGIN" "e=$salt"); ns1=$(origin_match "$ORIGIN" "/nostore/bytes/")
    per_key=$(awk -v m="$m" -v a="$ns0" -v b="$ns1" 'BEGIN { split(m, x, " "); split(a, p, " "); split(b, q, " ")
      r = x[1] - (q[1] - p[1]); k = x[2] - (q[2] - p[2]); if (k > 0) printf "%.3f", r / k; else printf "-" }')
  fi
  if [[ $t == zcproxy ]]; then
    curl -s --max-time 5 "http://127.0.0.1:$ZCPROXY_ADMIN_PORT/metrics" \
      >"$RESULTS/zcproxy-metrics/r$round-$sc-$param-$conns.txt" 2>/dev/null || true
  fi
  local line; line=$(grep '^ZCRESULT' <<<"$out" || true)
  if [[ -z $line ]]; then
    log "wrk gave no result for $t $sc $param $conns: $(tail -2 <<<"$out" | tr '\n' ' ')"
    line="ZCRESULT requests=0 bytes=0 duration_us=1 connect=0 read=0 write=0 status=0 timeout=0 p50_us=0 p90_us=0 p99_us=0 mean_us=0 max_us=0"
  fi
  local row
  row=$(awk -v line="$line" -v round="$round" -v sc="$sc" -v param="$param" -v conns="$conns" -v t="$t" \
    -v o="$((o1 - o0))" -v ticks="$((c1 - c0))" -v hz="$TICKS" -v rss="$rss" -v pk="$per_key" '
    BEGIN {
      n = split(line, kv, " ")
      for (i = 2; i <= n; i++) { split(kv[i], p, "="); v[p[1]] = p[2] }
      d = v["duration_us"] / 1e6; r = v["requests"]; b = v["bytes"]; cpu = ticks / hz
      printf "%s\t%s\t%s\t%s\t%s\t%d\t%.2f\t%.1f\t%d\t%.1f\t%.3f\t%.3f\t%.3f\t%d\t%d\t%d\t%d\t%d\t%d\t%.4f\t%.2f\t%.3f\t%.3f\t%.1f\t%s\n",
        round, sc, param, conns, t, r, d, r / d, b, b / d / 1e6,
        v["p50_us"] / 1000, v["p90_us"] / 1000, v["p99_us"] / 1000,
        v["connect"], v["read"], v["write"], v["status"], v["timeout"],
        o, (r > 0 ? o / r : 0), cpu, (r > 0 ? cpu / r * 10000 : 0), (b > 0 ? cpu / (b / 1e9) : 0),
        rss / 1024, pk
    }')
  printf '%s\n' "$row" >>"$TSV"
  RUN=$((RUN + 1))
  awk -F'\t' -v n="$RUN" -v total="$TOTAL" '{
    err = $14 + $15 + $16 + $17 + $18
    printf "[%d/%d] r%s %-5s %-5s %-6s %-8s %9.0f req/s %9.1f MB/s  p99 %8.2f ms  err %d  origin/req %.3f  cpu/10k %.2fs%s\n",
      n, total, $1, $2, $3, $4, $5, $8, $10, $13, err, $20, $22, ($25 != "-" ? "  origin/key " $25 : "")
  }' <<<"$row" >&2
}

mkdir -p "$RESULTS/zcproxy-metrics"
# JIT and connection warm-up, not recorded: a short hit and pass run per target
for t in "${MEASURED[@]}"; do
  log "warm-up $t ($WARMUP)"
  for sc in hit pass; do
    wrk -t1 -c16 -d"$WARMUP" -s "$HERE/scenarios/$sc.lua" "http://127.0.0.1:${PORT[$t]}" -- size=1k >/dev/null 2>&1 || true
  done
done
for ((round = 1; round <= ROUNDS; round++)); do
  # rotate the target order each round so no target always runs first (or right after another)
  order=("${MEASURED[@]:$(((round - 1) % ${#MEASURED[@]}))}" "${MEASURED[@]:0:$(((round - 1) % ${#MEASURED[@]}))}")
  log "round $round/$ROUNDS, target order: ${order[*]}"
  for job in "${JOBS[@]}"; do
    set -- $job
    for t in "${order[@]}"; do
      kill -0 "${PID[$t]}" 2>/dev/null || { log "$t (pid ${PID[$t]}) died; skipping its remaining runs"; continue; }
      run_one "$round" "$1" "$2" "$3" "$t"
    done
  done
done
rmdir "$RESULTS/zcproxy-metrics" 2>/dev/null || true

# ---------------------------------------------------------------------------------------------
# report
awk -f "$HERE/lib/report.awk" -v env_file="$RESULTS/env.txt" -v status_file="$STATUS" "$TSV" >"$SUMMARY"
echo >&2
cat "$SUMMARY"
log "summary: $SUMMARY"
if command -v python3 >/dev/null 2>&1; then
  python3 "$HERE/lib/chart.py" "$TSV" >"$RESULTS/chart.svg" && log "chart: $RESULTS/chart.svg"
fi
log "raw rows: $TSV"
