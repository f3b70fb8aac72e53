#!/usr/bin/env bash
# loadtest/check.sh: syntax check of the load-test kit, cheap enough for CI (no servers, no wrk).
# bash -n on every shell script; luac -p on every Lua scenario when a luac is installed (else the
# Lua check is skipped with a note); awk parse of the report script on an empty input.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fail=0

for f in "$HERE"/*.sh "$HERE"/lib/*.sh; do
  if bash -n "$f"; then echo "ok   bash -n ${f#"$HERE"/}"; else echo "FAIL bash -n ${f#"$HERE"/}"; fail=1; fi
done

luac=
for c in luac luac5.4 luac5.3 luac5.2 luac5.1 luajit; do
  if command -v "$c" >/dev/null 2>&1; then luac=$c; break; fi
done
for f in "$HERE"/scenarios/*.lua; do
  if [[ -z $luac ]]; then echo "skip lua ${f#"$HERE"/} (no luac installed)"; continue; fi
  if [[ $luac == luajit ]]; then cmd=(luajit -bl "$f"); else cmd=("$luac" -p "$f"); fi
  if "${cmd[@]}" >/dev/null; then echo "ok   $luac ${f#"$HERE"/}"; else echo "FAIL $luac ${f#"$HERE"/}"; fail=1; fi
done

if printf 'round\tscenario\n' | awk -f "$HERE/lib/report.awk" >/dev/null; then
  echo "ok   awk lib/report.awk"
else
  echo "FAIL awk lib/report.awk"; fail=1
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "skip python3 lib/chart.py (no python3 installed)"
elif printf 'round\tscenario\tparam\tconns\ttarget\trps\tcpu_s_per_10k\n1\thit\t1k\t1x16\tnginx\t100\t1\n1\thit\t1k\t1x16\tzcproxy\t80\t2\n' \
    >"${TMPDIR:-/tmp}/chart-check.$$.tsv" && python3 "$HERE/lib/chart.py" "${TMPDIR:-/tmp}/chart-check.$$.tsv" | grep -q '0.80x nginx'; then
  echo "ok   python3 lib/chart.py"
else
  echo "FAIL python3 lib/chart.py"; fail=1
fi
rm -f "${TMPDIR:-/tmp}/chart-check.$$.tsv"
jar=$(dirname "$HERE")/proxy/target/zcproxy.jar
if [[ ! -f $jar ]] || ! command -v javac >/dev/null 2>&1; then
  echo "skip javac floor/Floor.java (no proxy/target/zcproxy.jar or no javac)"
elif out=$(mktemp -d) && javac -d "$out" -cp "$jar" "$HERE/floor/Floor.java" 2>&1; then
  echo "ok   javac floor/Floor.java"; rm -rf "$out"
else
  echo "FAIL javac floor/Floor.java"; fail=1; rm -rf "$out"
fi
exit $fail
