#!/usr/bin/env bash
# loadtest/rss-sampler.sh: where a whole run's resident set is. Beside a run.sh or knobs.sh run, waits for the zcproxy
# JVM listening on 127.0.0.1:PORT, then until it exits writes /proc/PID/status (VmRSS, RssAnon, RssFile, VmHWM, kB) every
# second to OUT/status.txt and `jcmd GC.heap_info` (and `VM.native_memory summary` with NMT=1: start the proxy with
# -XX:NativeMemoryTracking=summary) every 5 s to OUT/nmt.txt; with TSV=<run.sh's raw.tsv> and HIST_AFTER=<a row's
# "scenario<TAB>param<TAB>conns", e.g. 'zipf\t10000\t2x128'> one `GC.class_histogram -all` (unreachable objects
# included, no collection forced) to OUT/hist.txt once that row is written.
#
#   loadtest/rss-sampler.sh 21052 /tmp/rss-run1 & sp=$!; <run.sh with ZCPROXY_PORT=21052 ...>; kill $sp
#
# The JVM is found by its --listen argument (run.sh and knobs.sh both pass it), so it works whatever its options.
set -uo pipefail
PORT=${1:?usage: rss-sampler.sh PORT OUTDIR}
OUT=${2:?usage: rss-sampler.sh PORT OUTDIR}
NMT=${NMT:-0}
TSV=${TSV:-}
HIST_AFTER=${HIST_AFTER:-}
mkdir -p "$OUT"
pid=
while [[ -z $pid ]]; do
  pid=$(pgrep -f "java.*--listen 127.0.0.1:$PORT( |$)" | head -1)
  [[ -n $pid ]] || sleep 0.5
done
echo "$pid" >"$OUT/pid"
i=0 hist=0
while [[ -d /proc/$pid ]]; do
  awk -v ts="$(date +%s)" '/^(VmRSS|RssAnon|RssFile|VmHWM):/ {a[$1] = $2}
    END {print ts, a["VmRSS:"], a["RssAnon:"], a["RssFile:"], a["VmHWM:"]}' "/proc/$pid/status" >>"$OUT/status.txt" 2>/dev/null
  if ((i % 5 == 0)); then
    {
      echo "== $(date +%s)"
      [[ $NMT == 1 ]] && jcmd "$pid" VM.native_memory summary 2>/dev/null | grep -E 'committed|Total'
      jcmd "$pid" GC.heap_info 2>/dev/null
    } >>"$OUT/nmt.txt"
  fi
  if [[ $hist == 0 && -n $TSV && -n $HIST_AFTER ]] && grep -qP "^[0-9]+\t$HIST_AFTER\t" "$TSV" 2>/dev/null; then
    hist=1
    jcmd "$pid" GC.class_histogram -all 2>/dev/null | head -60 >"$OUT/hist.txt"
  fi
  i=$((i + 1))
  sleep 1
done
