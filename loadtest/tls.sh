#!/usr/bin/env bash
# loadtest/tls.sh: zcproxy against nginx over TLS (HTTP/1.1 with wrk) and HTTP/2 (h2load), both with
# the same self-signed certificate, both caching the demo origin, all on 127.0.0.1. Cache hits only:
# over TLS neither can use sendfile (nginx copies too without kTLS), so this measures the copy path.
#
#   DURATION=2 SIZES=1k loadtest/tls.sh        # a smoke run (seconds)
#   loadtest/tls.sh                            # 10 s per cell, sizes 1k 64k 1m, both protocols
#   PROVIDERS="jdk openssl" TARGETS=zcproxy loadtest/tls.sh
#                                              # zcproxy's JDK TLS engine against OpenSSL (listen.tls.provider)
#
# Needs java, openssl, curl, nginx, wrk (HTTP/1.1) and h2load (apt-get install nghttp2-client; the
# script installs what is missing when run as root and INSTALL=1). Prints one line per cell and keeps
# results/<date>-tls-<commit>/raw.tsv. Stops only the processes it started, by PID.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=lib/common.sh
. "$HERE/lib/common.sh"

DURATION=${DURATION:-10}                # seconds per cell
SIZES=${SIZES:-1k 64k 1m}
PROTOS=${PROTOS:-h1 h2}                 # h1: wrk over TLS; h2: h2load (ALPN h2)
TARGETS=${TARGETS:-zcproxy nginx}
PROVIDERS=${PROVIDERS:-jdk}             # zcproxy's listen.tls.provider, one run each: jdk, openssl
CONNS=${CONNS:-16}
STREAMS=${STREAMS:-10}                  # h2load -m: concurrent streams per connection
ORIGIN_PORT=${ORIGIN_PORT:-18181}
ZCPROXY_PORT=${ZCPROXY_PORT:-18443}
NGINX_PORT=${NGINX_PORT:-18444}
ZCPROXY_JAVA_OPTS=${ZCPROXY_JAVA_OPTS:--Xms64m -Xmx128m -XX:MaxDirectMemorySize=64m}
JAR=${JAR:-$ROOT/proxy/target/zcproxy.jar}
INSTALL=${INSTALL:-1}
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo nocommit)
RESULTS=${RESULTS:-$HERE/results/$(date +%Y%m%d-%H%M%S)-tls-$COMMIT}
WORK=$(mktemp -d /tmp/zcproxy-tls.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$RESULTS"
TSV=$RESULTS/raw.tsv

ORIGIN_PID= ZC_PID= NGINX_PID=
cleanup() {
  stop_pid "$ZC_PID" zcproxy
  stop_pid "$NGINX_PID" nginx
  stop_pid "$ORIGIN_PID" origin
  rm -rf "$WORK"
}
trap cleanup EXIT

need curl curl || die "curl missing"
need openssl openssl || die "openssl missing"
[[ -f $JAR ]] || build_jar "$ROOT"

# ---- one certificate for both: a throw-away CA and a leaf for localhost / 127.0.0.1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORK/ca.key" -out "$WORK/ca.pem" \
  -days 2 -subj "/CN=zcproxy loadtest CA" -addext basicConstraints=critical,CA:TRUE 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORK/site.key" -out "$WORK/site.csr" \
  -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$WORK/ext"
openssl x509 -req -in "$WORK/site.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -set_serial 1 -days 2 \
  -extfile "$WORK/ext" -out "$WORK/site.pem" 2>/dev/null

# ---- origin
sizes_csv=$(echo $SIZES | tr ' ' ',')
mkdir -p "$WORK/data"
start_origin "$JAR" "127.0.0.1:$ORIGIN_PORT" "$WORK/data" 1 "$sizes_csv" "$RESULTS/origin.log" ||
  die "demo origin did not start: $(tail -3 "$RESULTS/origin.log")"

# ---- targets
start_zc() {
  local provider=${1:-jdk}
  rm -rf "$WORK/zc"
  mkdir -p "$WORK/zc/cache"
  cat >"$WORK/zc/zcproxy.yaml" <<EOF
listen:
  address: 127.0.0.1:$ZCPROXY_PORT
  http2: true
  tls:
    certificates: [{cert: $WORK/site.pem, key: $WORK/site.key}]
    provider: $provider
origin:
  url: http://127.0.0.1:$ORIGIN_PORT
cache:
  dir: $WORK/zc/cache
admin:
  enabled: false
logging:
  access-log: off
EOF
  # shellcheck disable=SC2086
  java $ZCPROXY_JAVA_OPTS -jar "$JAR" --config "$WORK/zc/zcproxy.yaml" >"$RESULTS/zcproxy.log" 2>&1 &
  ZC_PID=$!
  for ((i = 0; i < 300; i++)); do
    curl -sk -o /dev/null --max-time 1 "https://127.0.0.1:$ZCPROXY_PORT/" && return 0
    kill -0 "$ZC_PID" 2>/dev/null || break
    sleep 0.1
  done
  die "zcproxy did not start: $(tail -3 "$RESULTS/zcproxy.log")"
}

start_nginx() {
  need nginx nginx || die "nginx missing"
  local dir=$WORK/nginx bin
  bin=$(command -v nginx || echo /usr/sbin/nginx)
  mkdir -p "$dir"/{cache,tmp,logs}
  cat >"$dir/nginx.conf" <<EOF
$([[ $(id -u) == 0 ]] && echo "user root;")
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nodelay on;
  keepalive_requests 1000000;
  client_body_temp_path $dir/tmp/client;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  proxy_cache_path $dir/cache levels=1:2 keys_zone=zc:16m max_size=1g inactive=1d use_temp_path=off;
  server {
    listen 127.0.0.1:$NGINX_PORT ssl http2;
    ssl_certificate $WORK/site.pem;
    ssl_certificate_key $WORK/site.key;
    ssl_protocols TLSv1.3 TLSv1.2;
    location / {
      proxy_pass http://127.0.0.1:$ORIGIN_PORT;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache zc;
      proxy_cache_lock on;
    }
  }
}
EOF
  "$bin" -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" 2>"$RESULTS/nginx.log" || die "nginx did not start"
  for ((i = 0; i < 50; i++)); do [[ -s $dir/nginx.pid ]] && break; sleep 0.1; done
  NGINX_PID=$(cat "$dir/nginx.pid")
}

# one_cell TARGET PORT PID PROTO SIZE: warm the hit, load it, print and record req/s, MB/s, CPU s/GB
one_cell() {
  local target=$1 port=$2 pid=$3 proto=$4 size=$5 url out rps mbps t0 t1 cpu
  url="https://127.0.0.1:$port/files/$size"
  curl -sk -o /dev/null "$url"; curl -sk -o /dev/null "$url"   # miss, then stored
  t0=$(cpu_ticks "$pid")
  if [[ $proto == h1 ]]; then
    out=$(wrk -t1 -c"$CONNS" -d"${DURATION}s" "$url" 2>&1)
    rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    mbps=$(awk '/^Transfer\/sec/ {v=$2; u=substr(v,length(v)-1); n=v+0; if (u=="GB") n*=1024; if (u=="KB") n/=1024; print n}' <<<"$out")
  else
    out=$(h2load -c"$CONNS" -m"$STREAMS" -D "$DURATION" "$url" 2>&1)
    rps=$(awk '/^finished in/ {gsub(",", "", $4); print $4}' <<<"$out")
    mbps=$(awk '/^finished in/ {v=$6; n=v+0; if (v ~ /GB/) n*=1024; if (v ~ /KB/) n/=1024; print n}' <<<"$out")
  fi
  t1=$(cpu_ticks "$pid")
  cpu=$(awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v mb="${mbps:-0}" -v d="$DURATION" \
    'BEGIN { gb = mb * d / 1024; if (gb > 0) printf "%.1f", t / hz / gb; else print "-" }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$proto" "$size" "${rps:-0}" "${mbps:-0}" "$cpu" | tee -a "$TSV"
}

need wrk wrk || log "wrk missing: h1 cells skipped"
need h2load nghttp2-client || log "h2load missing (apt-get install nghttp2-client): h2 cells skipped"
printf 'target\tproto\tsize\treq_s\tMB_s\tcpu_s_per_GB\n' | tee "$TSV"
runs=()
for target in $TARGETS; do
  case $target in
    zcproxy) for p in $PROVIDERS; do runs+=("zcproxy:$p"); done ;;
    nginx) runs+=(nginx) ;;
    *) die "unknown target $target" ;;
  esac
done
for run in "${runs[@]}"; do
  case $run in
    zcproxy:*)
      provider=${run#zcproxy:}
      start_zc "$provider"; port=$ZCPROXY_PORT; pid=$ZC_PID
      # with one provider the label stays "zcproxy", as in earlier results
      label=zcproxy; [[ $PROVIDERS == "jdk" ]] || label="zcproxy-$provider" ;;
    nginx) start_nginx; port=$NGINX_PORT; pid=$NGINX_PID; label=nginx ;;
  esac
  for proto in $PROTOS; do
    [[ $proto == h1 ]] && ! command -v wrk >/dev/null && continue
    [[ $proto == h2 ]] && ! command -v h2load >/dev/null && continue
    for size in $SIZES; do one_cell "$label" "$port" "$pid" "$proto" "$size"; done
  done
  if [[ $run == zcproxy:* ]]; then
    stop_pid "$ZC_PID" zcproxy
    ZC_PID=
  fi
done
log "results in $RESULTS"
