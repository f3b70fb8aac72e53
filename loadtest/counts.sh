#!/usr/bin/env bash
# loadtest/counts.sh: what each hit costs the server AND the client, counted (perf stat), for zcproxy variants and
# nginx side by side in the same window. Counts per response do not depend on the machine's load the way MB/s and
# CPU per GB do (results/LARGE-2026-12-03.md, LARGE-2026-12-03c.md), so two variants can be told apart on a busy
# machine: system calls (sendfile, its EAGAINs, writev, recvfrom, setsockopt, epoll waits, futex), context switches,
# packets sent (net:net_dev_xmit: on loopback a sender also runs the receiver's side), and CPU (task-clock) of the
# server's processes (the JVM, or nginx's workers) and of wrk.
#
#   TARGETS="zc nginx" CELLS="256k:1x16 16m:2x128" loadtest/counts.sh
#   TARGETS="zc cork nginx" V_cork_YAML='transfer:\n  cork-hits-below: 1MiB\n' ROUNDS=5 loadtest/counts.sh
#
# TARGETS: nginx (run.sh's config: sendfile, tcp_nopush, proxy_cache) and any number of zcproxy variants NAME with
# V_NAME_JAR (default proxy/target/zcproxy.jar), V_NAME_OPTS (JVM options), V_NAME_YAML (appended config, printf
# escapes). Every target runs for the whole script (one JVM each, as run.sh); CELLS are SIZE:THREADSxCONNECTIONS of
# hit.lua, each warmed WARMUP first; the target order is reversed every other round. Prints, per cell, the median
# over rounds of each count per response (PER=req) or per GB (PER=gb); raw rows in OUT. Needs perf (root or
# perf_event_paranoid <= 1) and its syscalls tracepoints. Ports: BASE_PORT (origin), +1 nginx, +10.. zcproxy variants.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=lib/common.sh
. "$HERE/lib/common.sh"

TARGETS=${TARGETS:-zc nginx}
CELLS=${CELLS:-256k:1x16 256k:2x128 16m:1x16 16m:2x128 100m:1x16 100m:2x128}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}   # seconds per measured run
WARMUP=${WARMUP:-2}       # seconds of wrk before each measured run (not counted)
PER=${PER:-}              # req | gb; default: req for bodies below 1m, gb from 1m
BASE_PORT=${BASE_PORT:-18580}
ZCPROXY_JAVA_OPTS=${ZCPROXY_JAVA_OPTS:--Xms64m -Xmx768m -XX:+UseSerialGC -XX:MaxDirectMemorySize=64m -XX:ReservedCodeCacheSize=64m -Xss512k}
OUT=${OUT:-/tmp/zcproxy-counts-$(date +%Y%m%d-%H%M%S).tsv}
WORK=$(mktemp -d /tmp/zcproxy-counts.XXXXXX)
TAB=$'\t'

declare -A PID PORT
ORIGIN_PID=
cleanup() {
  trap "" INT TERM
  local t
  for t in "${!PID[@]}"; do [[ -n ${PID[$t]} ]] && stop_pid "${PID[$t]}" "$t"; done
  [[ -n $ORIGIN_PID ]] && stop_pid "$ORIGIN_PID" origin
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need wrk wrk || die "wrk not found"
need perf linux-perf || die "perf not found"
perf stat -e syscalls:sys_enter_sendfile64 -- true >/dev/null 2>&1 || die "perf cannot count syscall tracepoints (root, or kernel.perf_event_paranoid)"

sizes=$(for c in $CELLS; do echo "${c%%:*}"; done | sort -u | paste -sd, -)
start_origin "${V_zc_JAR:-$ROOT/proxy/target/zcproxy.jar}" "127.0.0.1:$BASE_PORT" "$WORK/data" 2 "$sizes" "$WORK/origin.log" ||
  die "origin did not start"

start_nginx() { # run.sh's nginx config (2 workers, sendfile, tcp_nopush, proxy_cache on disk)
  local d=$WORK/nginx
  mkdir -p "$d"/{cache,tmp,logs}
  cat >"$d/nginx.conf" <<EOF
$([[ $(id -u) == 0 ]] && echo "user root;")
worker_processes $(nproc);
pid $d/nginx.pid;
error_log $d/logs/error.log warn;
events { worker_connections 8192; }
http {
  access_log off; sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_timeout 75s; keepalive_requests 1000000;
  client_body_temp_path $d/tmp/client; proxy_temp_path $d/tmp/proxy; fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi; scgi_temp_path $d/tmp/scgi;
  proxy_cache_path $d/cache levels=1:2 keys_zone=zc:64m max_size=2g inactive=1d use_temp_path=off;
  upstream origin { server 127.0.0.1:$BASE_PORT; keepalive 128; }
  server {
    listen 127.0.0.1:$1 backlog=4096;
    location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_cache zc; proxy_cache_lock on; add_header X-Cache \$upstream_cache_status; }
  }
}
EOF
  nginx -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log" || die "nginx did not start"
  local i
  for ((i = 0; i < 50; i++)); do [[ -s $d/nginx.pid ]] && break; sleep 0.1; done
  PID[nginx]=$(cat "$d/nginx.pid")
  wait_http "http://127.0.0.1:$1/" 10 "${PID[nginx]}" || die "nginx not answering"
}

n=0
for t in $TARGETS; do
  if [[ $t == nginx ]]; then
    PORT[$t]=$((BASE_PORT + 1))
    start_nginx "${PORT[$t]}"
    continue
  fi
  PORT[$t]=$((BASE_PORT + 10 + 2 * n)) n=$((n + 1))
  jar_var=V_${t}_JAR opts_var=V_${t}_OPTS yaml_var=V_${t}_YAML
  mkdir -p "$WORK/$t"
  printf 'logging:\n  access-log: "off"\n%b' "${!yaml_var:-}" >"$WORK/$t/zcproxy.yaml"
  # shellcheck disable=SC2086
  java $ZCPROXY_JAVA_OPTS ${!opts_var:-} -jar "${!jar_var:-$ROOT/proxy/target/zcproxy.jar}" --config "$WORK/$t/zcproxy.yaml" \
    --listen "127.0.0.1:${PORT[$t]}" --origin "http://127.0.0.1:$BASE_PORT" --cache-dir "$WORK/$t/cache" \
    --cache-size 2GiB --admin "127.0.0.1:$((PORT[$t] + 1))" >"$WORK/$t/zcproxy.log" 2>&1 &
  PID[$t]=$!
  wait_http "http://127.0.0.1:${PORT[$t]}/" 60 "${PID[$t]}" || die "zcproxy ($t) did not start: $(tail -2 "$WORK/$t/zcproxy.log")"
done

# the kernel's TCP counters that say a run met memory pressure (machine-wide: other traffic counts too)
tcp_ext() {
  awk '/^TcpExt:/ { if (!h) { split($0, n); h = 1 } else { split($0, v)
    for (i = 2; i <= NF; i++) if (n[i] ~ /^(TCPMemoryPressures|TCPMemoryPressuresChrono|PruneCalled|TCPRcvCollapsed|TCPRcvQDrop|TCPOFODrop)$/) print n[i], v[i] } }' /proc/net/netstat
}
# tcp_mem_peak SECONDS: the highest TCP memory in use (pages, /proc/net/sockstat), sampled every 0.2 s
tcp_mem_peak() {
  local end=$((SECONDS + $1)) m peak=0
  while ((SECONDS < end)); do
    m=$(awk '/^TCP:/ { for (i = 1; i < NF; i++) if ($i == "mem") print $(i + 1) }' /proc/net/sockstat)
    ((m > peak)) && peak=$m
    sleep 0.2
  done
  echo "$peak"
}

# the processes to count: nginx's workers, or the JVM
server_pids() { if [[ $1 == nginx ]]; then pgrep -P "${PID[$1]}" | paste -sd, -; else echo "${PID[$1]}"; fi; }
EVENTS=task-clock,raw_syscalls:sys_enter,syscalls:sys_enter_sendfile64,syscalls:sys_enter_writev,syscalls:sys_enter_recvfrom
EVENTS+=,syscalls:sys_enter_read,syscalls:sys_enter_setsockopt,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_pwait2
EVENTS+=,syscalls:sys_enter_futex,sched:sched_switch,net:net_dev_xmit
EAGAIN=(-e syscalls:sys_exit_sendfile64 --filter 'ret == -11') # sendfile calls that found the send buffer full

for c in $CELLS; do # fill every cache (the second request is a hit everywhere)
  for t in $TARGETS; do
    curl -s -o /dev/null "http://127.0.0.1:${PORT[$t]}/files/${c%%:*}"
    curl -s -o /dev/null "http://127.0.0.1:${PORT[$t]}/files/${c%%:*}"
  done
done
printf 'round\ttarget\tsize\tconns\trequests\tbytes\tside\tevent\tcount\n' >"$OUT"
for ((round = 1; round <= ROUNDS; round++)); do
  order=$TARGETS
  ((round % 2 == 0)) && order=$(printf '%s\n' $TARGETS | tac | paste -sd' ' -)
  for c in $CELLS; do
    IFS=: read -r size conns <<<"$c"
    for t in $order; do
      url=http://127.0.0.1:${PORT[$t]}
      wrk -t"${conns%x*}" -c"${conns#*x}" -d"${WARMUP}s" --timeout 60s -s "$HERE/scenarios/hit.lua" "$url" -- size="$size" >/dev/null 2>&1 || true
      # the server's count spans wrk's run (started before it, ended after it: idle either side adds ~nothing)
      perf stat -x'|' -e "$EVENTS" "${EAGAIN[@]}" -p "$(server_pids "$t")" -o "$WORK/server.txt" -- sleep $((DURATION + 1)) &
      sp=$!
      tcp_mem_peak $((DURATION + 1)) >"$WORK/mem.txt" &
      mp=$!
      tcp_ext >"$WORK/ext0.txt"
      sleep 0.3
      perf stat -x'|' -e "$EVENTS" -o "$WORK/wrk.txt" -- wrk -t"${conns%x*}" -c"${conns#*x}" -d"${DURATION}s" --timeout 60s \
        -s "$HERE/scenarios/hit.lua" "$url" -- size="$size" >"$WORK/wrk.out" 2>&1 || true
      wait "$sp" "$mp" || true
      tcp_ext >"$WORK/ext1.txt"
      res=$(grep '^ZCRESULT' "$WORK/wrk.out" || true)
      req=$(sed -nE 's/.* requests=([0-9]+).*/\1/p' <<<"$res") bytes=$(sed -nE 's/.* bytes=([0-9]+).*/\1/p' <<<"$res")
      for side in server wrk; do # perf -x: value|unit|event|...; the filtered exit event is the EAGAIN count
        awk -F'|' -v pre="$round$TAB$t$TAB$size$TAB$conns$TAB${req:-0}$TAB${bytes:-0}$TAB$side" '
          /^[0-9]/ { e = $3; if (e ~ /sys_exit_sendfile64/) e = "sendfile EAGAIN"; n[e] += $1 }
          END { for (e in n) printf "%s\t%s\t%s\n", pre, e, n[e] }' "$WORK/$side.txt" >>"$OUT"
      done
      pre="$round$TAB$t$TAB$size$TAB$conns$TAB${req:-0}$TAB${bytes:-0}${TAB}kernel"
      awk -v pre="$pre" 'NR == FNR { a[$1] = $2; next } { printf "%s\t%s\t%s\n", pre, $1, $2 - a[$1] }' \
        "$WORK/ext0.txt" "$WORK/ext1.txt" >>"$OUT"
      printf '%s\tTCP mem peak pages (not divided)\t%s\n' "$pre" "$(cat "$WORK/mem.txt")" >>"$OUT"
      log "round $round $t $c: ${req:-?} responses, $(((${bytes:-0}) / DURATION / 1000000)) MB/s (load $(cut -d' ' -f1 /proc/loadavg))"
    done
  done
done

# medians over rounds, per response (or per GB), targets side by side
awk -F'\t' -v per="$PER" '
  function median(list,    a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) { t = a[i] + 0; j = i - 1; while (j >= 1 && a[j] + 0 > t) { a[j + 1] = a[j]; j-- } a[j + 1] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  function big(size) { return size ~ /[mMgG]$/ }
  NR == 1 { next }
  { k = $3 " " $4; if (!(k in sk)) { sk[k] = 1; cells[++nc] = k; gb[k] = (per == "gb" || (per == "" && big($3))) }
    if (!($2 in st)) { st[$2] = 1; tl[++nt] = $2 }
    ev = $7 ": " $8; if (!(ev in se)) { se[ev] = 1; evs[++ne] = ev }
    d = gb[k] ? $6 / 1e9 : $5
    val[k, $2, ev] = val[k, $2, ev] " " (ev ~ /not divided/ ? $9 : d > 0 ? $9 / d : 0)
    if ($7 == "wrk" && $8 == "task-clock") { mbs[k, $2] = mbs[k, $2] " " $6 / 1e6 } }
  END {
    for (c = 1; c <= nc; c++) {
      k = cells[c]
      printf "\n### hit %s: per %s (task-clock in ms)\n| count |", k, (gb[k] ? "GB" : "response")
      for (t = 1; t <= nt; t++) printf " %s |", tl[t]
      printf "\n|---|"; for (t = 1; t <= nt; t++) printf "--:|"
      printf "\n| MB per run (median) |"; for (t = 1; t <= nt; t++) printf " %.0f |", median(mbs[k, tl[t]])
      printf "\n"
      for (e = 1; e <= ne; e++) {
        ev = evs[e]; line = ""; any = 0
        for (t = 1; t <= nt; t++) { m = median(val[k, tl[t], ev]); if (m != 0) any = 1; line = line sprintf(" %.3f |", m) }
        if (any) printf "| %s |%s\n", ev, line
      }
    }
  }' "$OUT"
log "raw rows: $OUT (load at end: $(cut -d' ' -f1-3 /proc/loadavg))"
