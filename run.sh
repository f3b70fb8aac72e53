#!/usr/bin/env bash
# Builds zcproxy and runs it on the default config (conf/proxy.yaml: 127.0.0.1:8080 -> 127.0.0.1:8081)
# in front of the demo origin, which this script starts too. Ctrl-C (or SIGTERM) stops both.
#   PROXY_ARGS="--cache-size 256MiB" ./run.sh     extra zcproxy flags
#   ORIGIN_LISTEN=127.0.0.1:8081                  where the demo origin listens
set -euo pipefail
cd "$(dirname "$0")"

JAR=proxy/target/zcproxy.jar
if [[ ! -f $JAR || -n $(find cache/src proxy/src pom.xml cache/pom.xml proxy/pom.xml -newer "$JAR" -type f 2>/dev/null | head -1) ]]; then
  echo "building zcproxy (mvn package, tests skipped; ./test.sh runs them)..."
  mvn -B -q -DskipTests package
fi

ORIGIN_LISTEN=${ORIGIN_LISTEN:-127.0.0.1:8081}
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

java -cp "$JAR" dev.zcproxy.proxy.demo.DemoOrigin --listen "$ORIGIN_LISTEN" &
pids+=($!)
ZCPROXY_JAR="$JAR" bin/zcproxy --config conf/proxy.yaml ${PROXY_ARGS:-} &
pids+=($!)

# Wait (bounded) until the proxy answers, then show a MISS and a HIT.
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null http://127.0.0.1:8080/ 2>/dev/null && break
  sleep 0.2
done
cat <<'TXT'

zcproxy is up. Try it (the second request is a HIT; a 16 KiB body is sent from the RAM tier, larger ones by sendfile):
  curl -s -o /dev/null -D - http://127.0.0.1:8080/bytes/16k | grep -iE '^(x-cache|cache-status|age)'
  curl -s -o /dev/null -D - http://127.0.0.1:8080/bytes/16k | grep -iE '^(x-cache|cache-status|age)'
Stats: curl -s http://127.0.0.1:8079/stats     Ctrl-C stops the proxy and the demo origin.
TXT
wait -n "${pids[@]}"
