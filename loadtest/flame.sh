#!/usr/bin/env bash
# loadtest/flame.sh: flame graphs of the 1 KiB hit path, before and after, from JFR (built into the JDK;
# nothing to install but wrk). For each jar: start the demo origin and zcproxy, warm the hit for WARMUP,
# record PROFILE of wrk load with JFR (settings=profile: CPU samples every 10-20 ms, allocation
# samples), then convert with lib/flame.py into <label>-cpu.svg, <label>-alloc.svg and <label>-top.txt
# (hottest frames, allocation sites, allocated bytes per request). KEEP_JFR=1 keeps the .jfr files.
#
#   loadtest/flame.sh                                    # "after" = proxy/target/zcproxy.jar only
#   BEFORE_REF=origin/main loadtest/flame.sh             # also builds that commit in a temp worktree
#   BEFORE_JAR=/tmp/old.jar loadtest/flame.sh            # or compare with a jar you built
#   SIZE=16k PROFILE=30s loadtest/flame.sh
#   SCENARIO=pass loadtest/flame.sh                     # the pass-through path (/nostore/files/<size>)
#
# Output: results/FLAME-<date>-<commit>/ (commit it beside the load-test table). Run it on a quiet
# machine: the profile shows where the time goes, wrk's req/s printed next to it is only a hint.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=lib/common.sh
. "$HERE/lib/common.sh"

SIZE=${SIZE:-1k}
SCENARIO=${SCENARIO:-hit}               # hit | pass (a scenarios/*.lua that takes size=)
WARMUP=${WARMUP:-15s}
PROFILE=${PROFILE:-20s}
CONNS=${CONNS:-1x16}
BEFORE_REF=${BEFORE_REF:-}
BEFORE_JAR=${BEFORE_JAR:-}
AFTER_JAR=${AFTER_JAR:-$ROOT/proxy/target/zcproxy.jar}
ZCPROXY_JAVA_OPTS=${ZCPROXY_JAVA_OPTS:--Xms64m -Xmx128m -XX:MaxDirectMemorySize=64m -XX:ReservedCodeCacheSize=64m -Xss512k}
ORIGIN_PORT=${ORIGIN_PORT:-18381}
ZCPROXY_ADMIN_PORT=${ZCPROXY_ADMIN_PORT:-18390}
ZCPROXY_PORT=${ZCPROXY_PORT:-18380}
INSTALL=${INSTALL:-1}
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo nocommit)
OUT=${OUT:-$HERE/results/FLAME-$(date +%Y%m%d-%H%M)-$COMMIT}
WORK=$(mktemp -d /tmp/zcproxy-flame.XXXXXX)

ORIGIN_PID= PROXY_PID= TREE=
cleanup() {
  trap "" INT TERM
  [[ -n $PROXY_PID ]] && stop_pid "$PROXY_PID" zcproxy
  [[ -n $ORIGIN_PID ]] && stop_pid "$ORIGIN_PID" origin
  [[ -n $TREE ]] && git -C "$ROOT" worktree remove --force "$TREE" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need wrk wrk || die "wrk not found (apt-get install wrk)"
need python3 python3 || die "python3 not found"
command -v jcmd >/dev/null || die "jcmd not found (a JDK, not a JRE, is needed)"
[[ -f $AFTER_JAR ]] || die "no $AFTER_JAR (mvn -B -q -DskipTests package)"
mkdir -p "$OUT"

if [[ -n $BEFORE_REF && -z $BEFORE_JAR ]]; then
  TREE=$WORK/before-src
  log "building $BEFORE_REF in a temporary worktree"
  git -C "$ROOT" worktree add --detach "$TREE" "$BEFORE_REF" >/dev/null 2>&1 || die "cannot check out $BEFORE_REF"
  (cd "$TREE" && mvn -B -q -o -DskipTests package >/dev/null 2>&1 || mvn -B -q -DskipTests package >&2) ||
    die "build of $BEFORE_REF failed"
  BEFORE_JAR=$TREE/proxy/target/zcproxy.jar
fi

log "starting demo origin on 127.0.0.1:$ORIGIN_PORT"
mkdir -p "$WORK/data"
start_origin "$AFTER_JAR" "127.0.0.1:$ORIGIN_PORT" "$WORK/data" "$(nproc)" "$SIZE" "$WORK/origin.log" || die "origin did not start"

profile() { # LABEL JAR
  local label=$1 jar=$2 th=${CONNS%x*} co=${CONNS#*x} line req rps
  rm -rf "$WORK/cache"; mkdir -p "$WORK/cache"
  # shellcheck disable=SC2086
  java $ZCPROXY_JAVA_OPTS -XX:+UnlockDiagnosticVMOptions -XX:+DebugNonSafepoints -jar "$jar" \
    --listen "127.0.0.1:$ZCPROXY_PORT" --origin "http://127.0.0.1:$ORIGIN_PORT" \
    --cache-dir "$WORK/cache" --cache-size 1GiB --admin "127.0.0.1:$ZCPROXY_ADMIN_PORT" --access-log off >"$OUT/$label-zcproxy.log" 2>&1 &
  PROXY_PID=$!
  wait_http "http://127.0.0.1:$ZCPROXY_PORT/" 60 "$PROXY_PID" || die "zcproxy ($label) did not start"
  curl -s -o /dev/null "http://127.0.0.1:$ZCPROXY_PORT/files/$SIZE"
  log "$label: warm-up $WARMUP"
  wrk -t"$th" -c"$co" -d"$WARMUP" -s "$HERE/scenarios/$SCENARIO.lua" "http://127.0.0.1:$ZCPROXY_PORT" -- size="$SIZE" >/dev/null 2>&1 || true
  log "$label: recording $PROFILE"
  jcmd "$PROXY_PID" JFR.start name=flame settings=profile filename="$WORK/$label.jfr" >/dev/null
  line=$(wrk -t"$th" -c"$co" -d"$PROFILE" -s "$HERE/scenarios/$SCENARIO.lua" "http://127.0.0.1:$ZCPROXY_PORT" -- size="$SIZE" 2>&1 | grep '^ZCRESULT' || true)
  jcmd "$PROXY_PID" JFR.stop name=flame >/dev/null
  stop_pid "$PROXY_PID" zcproxy; wait "$PROXY_PID" 2>/dev/null || true; PROXY_PID=
  req=$(sed -nE 's/.* requests=([0-9]+).*/\1/p' <<<"$line"); req=${req:-0}
  rps=$(awk -v line="$line" 'BEGIN { n = split(line, kv, " "); for (i = 2; i <= n; i++) { split(kv[i], p, "="); v[p[1]] = p[2] }
    printf "%.0f", (v["duration_us"] > 0 ? v["requests"] / (v["duration_us"] / 1e6) : 0) }')
  [[ ${KEEP_JFR:-0} == 1 ]] && cp "$WORK/$label.jfr" "$OUT/$label.jfr"
  python3 "$HERE/lib/flame.py" "$WORK/$label.jfr" "$OUT/$label" "zcproxy $label, $SIZE $SCENARIO, wrk $CONNS, $rps req/s" "$req"
  log "$label: $rps req/s while recording; $(sed -n 4p "$OUT/$label-top.txt")"
}

[[ -n $BEFORE_JAR ]] && profile before "$BEFORE_JAR"
profile after "$AFTER_JAR"
{
  echo "# flame graphs of the $SIZE hit path ($(date -Is), commit $COMMIT, loadavg $(cut -d' ' -f1-3 /proc/loadavg))"
  for l in before after; do
    [[ -f $OUT/$l-top.txt ]] || continue
    echo; echo "## $l"; echo; echo "![$l CPU]($l-cpu.svg)"; echo; echo "![$l allocations]($l-alloc.svg)"; echo
    echo '```'; cat "$OUT/$l-top.txt"; echo '```'
  done
} >"$OUT/README.md"
log "written: $OUT (README.md, *-cpu.svg, *-alloc.svg, *-top.txt; KEEP_JFR=1 keeps the recordings)"
