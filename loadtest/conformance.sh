#!/usr/bin/env bash
# HTTP caching conformance: runs the public cache test suite (cache-tests.fyi,
# npm package http-cache-tests@0.4.5) through a proxy and scores it with the
# suite's own classification. See loadtest/conformance/README.md.
#
# usage: loadtest/conformance.sh [--check] [--id TEST_ID] [--profile P] [zcproxy|nginx|none]
#   target (argument, else $TARGET, else zcproxy):
#     zcproxy  java -jar proxy/target/zcproxy.jar in front of the suite's server
#              (built with mvn if the jar is missing), once per profile:
#                defaults  zcproxy's defaults (results: out/zcproxy.json)
#                rfc       conformance/rfc.yaml: cache.set-cookie: store and
#                          cache.invalidate-methods: any-unsafe (out/zcproxy-rfc.json)
#     nginx    Debian's nginx with loadtest/conformance/nginx.conf.in (calibration)
#     none     the client talks to the suite's server directly (no cache at all)
#   --check    exit 1 if a failing required test is not in
#              loadtest/conformance/known-failures.tsv (and report stale entries)
#   --id ID    run a single test with the suite's request/response dump (debugging;
#              no scoring; zcproxy: the first profile only)
#   --profile P  zcproxy profiles to run: defaults, rfc or all (default: all, in that order;
#              or $CONFORMANCE_PROFILE)
# environment: CONFORMANCE_READY_TIMEOUT (s, default 60), CONFORMANCE_CLI_TIMEOUT
#   (s, default 300), ZCPROXY_JAR, ZCPROXY_JAVA_OPTS.
#
# Everything it starts (suite server, proxy) runs on 127.0.0.1 and is stopped by
# PID on exit; its temp dir is removed. Raw results: loadtest/conformance/out/<target>.json
set -euo pipefail

SUITE_VERSION=0.4.5
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
CONF=$HERE/conformance
PKG=$CONF/node_modules/http-cache-tests
OUT=$CONF/out
READY_TIMEOUT=${CONFORMANCE_READY_TIMEOUT:-60}
CLI_TIMEOUT=${CONFORMANCE_CLI_TIMEOUT:-300}

log() { echo "conformance: $*" >&2; }
die() { log "$*"; exit 1; }

CHECK=0
TEST_ID=""
ARG_TARGET=""
PROFILE=${CONFORMANCE_PROFILE:-all}
while [ $# -gt 0 ]; do
  case "$1" in
    --check) CHECK=1 ;;
    --id) [ $# -ge 2 ] || die "--id needs a test id"; TEST_ID=$2; shift ;;
    --id=*) TEST_ID=${1#--id=} ;;
    --profile) [ $# -ge 2 ] || die "--profile needs defaults, rfc or all"; PROFILE=$2; shift ;;
    --profile=*) PROFILE=${1#--profile=} ;;
    -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) [ -z "$ARG_TARGET" ] || die "more than one target"; ARG_TARGET=$1 ;;
  esac
  shift
done
TARGET=${ARG_TARGET:-${TARGET:-zcproxy}}
case "$TARGET" in
  zcproxy|nginx|none) ;;
  *) die "unknown target '$TARGET' (zcproxy, nginx or none)" ;;
esac
case "$PROFILE" in
  all) PROFILES=(defaults rfc) ;;
  defaults|rfc) PROFILES=("$PROFILE") ;;
  *) die "unknown profile '$PROFILE' (defaults, rfc or all)" ;;
esac
[ "$TARGET" = zcproxy ] || PROFILES=(defaults)

command -v node >/dev/null || die "node is not installed"
command -v curl >/dev/null || die "curl is not installed"

# --- processes we start, stopped by PID on exit --------------------------------
PIDS=()
WORK=""
# stop one process we started (TERM, bounded wait, then KILL) and forget it
stop_pid() { # pid
  local pid=$1 p rest=()
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "process $pid did not stop on TERM; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || rest+=("$p"); done
  PIDS=("${rest[@]}")
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local pid
  for pid in "${PIDS[@]}"; do
    stop_pid "$pid"
  done
  if [ -n "$WORK" ] && [ -d "$WORK" ]; then rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# the results' name: the target, and the profile unless it is the defaults
NAME=$TARGET
# keep a copy of a log beside the results, print its tail
keep_log() { # name file
  [ -f "$2" ] || return 0
  cp "$2" "$OUT/$NAME.$1.log" 2>/dev/null || true
}
show_tail() { # name file
  [ -s "$2" ] || return 0
  log "last lines of the $1 log ($OUT/$NAME.$1.log):"
  tail -n 25 "$2" | sed 's/^/    /' >&2
}

# poll until URL answers HTTP at all (any status), while PID lives; bounded.
# Sets READY_CODE to the status it answered. Runs in this shell (not in $(...)), so
# that it can reap the process and its die ends the script.
READY_CODE=""
wait_http() { # what url pid logname logfile
  local what=$1 url=$2 pid=$3 deadline=$((SECONDS + READY_TIMEOUT)) code
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      local st=0
      wait "$pid" 2>/dev/null || st=$?
      keep_log "$4" "$5"; show_tail "$4" "$5"
      die "$what did not become ready: its process exited (status $st) before answering $url"
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" 2>/dev/null || true)
    if [ -n "$code" ] && [ "$code" != "000" ]; then
      READY_CODE=$code
      return 0
    fi
    if [ $SECONDS -ge $deadline ]; then
      keep_log "$4" "$5"; show_tail "$4" "$5"
      die "$what did not become ready: no HTTP answer from $url within ${READY_TIMEOUT}s"
    fi
    sleep 0.3
  done
}

# --- the suite -------------------------------------------------------------------
suite_installed() {
  [ -f "$PKG/package.json" ] && [ -f "$PKG/cli.mjs" ] && [ -d "$CONF/node_modules/node-fetch" ] &&
    node -e 'process.exit(require(process.argv[1]).version===process.argv[2]?0:1)' \
      "$PKG/package.json" "$SUITE_VERSION"
}
if ! suite_installed; then
  log "installing http-cache-tests@$SUITE_VERSION into $CONF/node_modules"
  npm install --no-save --no-audit --no-fund --prefix "$CONF" "http-cache-tests@$SUITE_VERSION" >&2 ||
    die "npm install http-cache-tests@$SUITE_VERSION failed"
  suite_installed || die "http-cache-tests@$SUITE_VERSION is not usable after npm install"
fi

mkdir -p "$OUT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/zcproxy-conformance.XXXXXX")

# --- origin: the suite's test server on 127.0.0.1, free port ---------------------
ORIGIN_LOG=$WORK/origin.log
(
  cd "$PKG"
  export npm_config_port=0 npm_config_protocol=http npm_config_pidfile="$WORK/origin.pid"
  exec node --no-warnings "$CONF/origin.mjs"
) >"$ORIGIN_LOG" 2>&1 &
ORIGIN_PID=$!
PIDS+=("$ORIGIN_PID")
ORIGIN_PORT=""
deadline=$((SECONDS + 20))
while [ -z "$ORIGIN_PORT" ]; do
  ORIGIN_PORT=$(sed -n 's#^Listening on http://127\.0\.0\.1:\([0-9][0-9]*\)/.*#\1#p' "$ORIGIN_LOG" | head -n 1)
  [ -n "$ORIGIN_PORT" ] && break
  if ! kill -0 "$ORIGIN_PID" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
    keep_log origin "$ORIGIN_LOG"; show_tail origin "$ORIGIN_LOG"
    die "the suite's test server did not start"
  fi
  sleep 0.2
done
ORIGIN=127.0.0.1:$ORIGIN_PORT
wait_http "the suite's test server" "http://$ORIGIN/state/conformance-ready" "$ORIGIN_PID" origin "$ORIGIN_LOG"
log "suite server (origin) on http://$ORIGIN (pid $ORIGIN_PID)"

# --- target ----------------------------------------------------------------------
# start_target PROFILE: starts the target (zcproxy with the profile's configuration) and
# sets BASE and TPID (empty for none)
TPID=""
start_target() {
  local profile=$1
  TARGET_LOG=$WORK/target-$profile.log
  TPID=""
  case "$TARGET" in
    none)
      BASE=http://$ORIGIN
      ;;
    nginx)
      NGINX=$(command -v nginx || true)
      [ -n "$NGINX" ] || { [ -x /usr/sbin/nginx ] && NGINX=/usr/sbin/nginx; } || true
      [ -n "$NGINX" ] || die "nginx is not installed (Debian: apt-get update && apt-get install nginx)"
      PORT=$(free_port)
      NG=$WORK/nginx
      mkdir -p "$NG/cache"
      sed -e "s#@PREFIX@#$NG#g" -e "s#@LISTEN@#127.0.0.1:$PORT#g" -e "s#@ORIGIN@#$ORIGIN#g" \
        "$CONF/nginx.conf.in" >"$NG/nginx.conf"
      TARGET_LOG=$NG/error.log
      "$NGINX" -p "$NG/" -e "$NG/error.log" -c "$NG/nginx.conf" >"$WORK/nginx.out" 2>&1 &
      TPID=$!
      PIDS+=("$TPID")
      wait_http "nginx" "http://127.0.0.1:$PORT/state/conformance-ready" "$TPID" target "$TARGET_LOG"
      log "$("$NGINX" -v 2>&1) on http://127.0.0.1:$PORT (pid $TPID), readiness probe answered $READY_CODE"
      BASE=http://127.0.0.1:$PORT
      ;;
    zcproxy)
      command -v java >/dev/null || die "java is not installed"
      JAR=${ZCPROXY_JAR:-$ROOT/proxy/target/zcproxy.jar}
      if [ ! -f "$JAR" ]; then
        log "$JAR is missing; building it (mvn -B -q -DskipTests package)"
        (cd "$ROOT" && mvn -B -q -DskipTests package) >&2 || die "building zcproxy failed"
        [ -f "$JAR" ] || die "the build did not produce $JAR"
      fi
      local config=()
      if [ "$profile" != defaults ]; then
        [ -f "$CONF/$profile.yaml" ] || die "no configuration for profile $profile ($CONF/$profile.yaml)"
        config=(--config "$CONF/$profile.yaml")
      fi
      PORT=$(free_port)
      mkdir -p "$WORK/cache-$profile"
      # shellcheck disable=SC2086 # ZCPROXY_JAVA_OPTS is a list of options
      java ${ZCPROXY_JAVA_OPTS:-} -jar "$JAR" "${config[@]}" --listen "127.0.0.1:$PORT" --origin "http://$ORIGIN" \
        --cache-dir "$WORK/cache-$profile" --admin off >"$TARGET_LOG" 2>&1 &
      TPID=$!
      PIDS+=("$TPID")
      wait_http "zcproxy" "http://127.0.0.1:$PORT/state/conformance-ready" "$TPID" target "$TARGET_LOG"
      # the suite's server answers 404 "State not found" for this probe; anything else
      # means the proxy did not relay it
      [ "$READY_CODE" = 404 ] ||
        log "warning: the readiness probe through zcproxy answered $READY_CODE, not the origin's 404"
      log "zcproxy (profile $profile) on http://127.0.0.1:$PORT (pid $TPID), readiness probe answered $READY_CODE"
      BASE=http://127.0.0.1:$PORT
      ;;
  esac
}

# --- the suite's CLI, without client keep-alive ----------------------------------
# The CLI reads its options from npm_config_* (as `npm run cli --base=...` sets them).
# no-keepalive.cjs gives node-fetch a keepAlive=false agent (Node >= 19 defaults to keep-alive).
run_cli() {
  (
    cd "$PKG"
    # cli.mjs takes an empty id (npm_package_config_id, "" in its package.json) as "run all"
    export npm_config_base="$BASE" npm_config_id="$TEST_ID" npm_package_config_id=""
    exec timeout --kill-after=10 "$CLI_TIMEOUT" \
      node --no-warnings --require "$CONF/no-keepalive.cjs" cli.mjs
  )
}

if [ -n "$TEST_ID" ]; then
  start_target "${PROFILES[0]}"
  [ "${PROFILES[0]}" = defaults ] || NAME=$TARGET-${PROFILES[0]}
  log "running test $TEST_ID against $NAME ($BASE)"
  rc=0
  run_cli || rc=$?
  keep_log origin "$ORIGIN_LOG"
  [ "$TARGET" = none ] || keep_log target "$TARGET_LOG"
  exit "$rc"
fi

# run_profile PROFILE: runs the whole suite against the target in that profile, scores it
# (and checks it with --check); returns the scorer's status
run_profile() {
  local profile=$1 rc=0 raw=$WORK/results-$1.json started
  NAME=$TARGET
  [ "$profile" = defaults ] || NAME=$TARGET-$profile
  start_target "$profile"
  log "running http-cache-tests@$SUITE_VERSION against $NAME ($BASE)"
  started=$SECONDS
  run_cli >"$raw" 2>"$WORK/cli-$profile.err" || rc=$?
  keep_log origin "$ORIGIN_LOG"
  [ "$TARGET" = none ] || keep_log target "$TARGET_LOG"
  if [ "$rc" -ne 0 ]; then
    [ "$rc" -eq 124 ] && log "the suite's CLI did not finish within ${CLI_TIMEOUT}s"
    show_tail cli "$WORK/cli-$profile.err"
    die "the suite's CLI failed (status $rc)"
  fi
  if ! node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));process.exit(Object.keys(r).length?0:1)' "$raw" 2>/dev/null; then
    cp "$WORK/cli-$profile.err" "$OUT/$NAME.cli.log" 2>/dev/null || true
    show_tail cli "$WORK/cli-$profile.err"
    die "the suite's CLI produced no JSON results (stderr kept in $OUT/$NAME.cli.log)"
  fi
  cp "$raw" "$OUT/$NAME.json"
  log "suite finished in $((SECONDS - started))s; raw results in $OUT/$NAME.json"
  # the next profile starts on a fresh proxy and an empty cache
  [ -z "$TPID" ] || stop_pid "$TPID"
  local args=("$OUT/$NAME.json" --target "$NAME" --known "$CONF/known-failures.tsv")
  [ "$TARGET" = zcproxy ] && args+=(--profile "$profile")
  [ "$CHECK" -eq 1 ] && args+=(--check)
  node --no-warnings "$CONF/score.mjs" "${args[@]}"
}

status=0
for profile in "${PROFILES[@]}"; do
  run_profile "$profile" || status=1
done
if [ "$CHECK" -eq 1 ] && [ "${#PROFILES[@]}" -gt 1 ]; then
  if [ "$status" -eq 0 ]; then
    log "conformance check: OK in every profile (${PROFILES[*]})"
  else
    log "conformance check: FAILED in at least one profile (${PROFILES[*]})"
  fi
fi
exit "$status"
