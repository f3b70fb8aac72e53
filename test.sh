#!/usr/bin/env bash
# Runs every test: unit and integration tests (mvn verify), the load-test script syntax check,
# and the HTTP caching conformance suite through zcproxy (fails on a required test not in the
# known-failures file). Needs: JDK 17+, Maven, Node.js with npm, curl.
set -euo pipefail
cd "$(dirname "$0")"
mvn -B verify
if [[ -x loadtest/check.sh ]]; then
  loadtest/check.sh
fi
if [[ -x loadtest/conformance.sh ]]; then
  loadtest/conformance.sh --check
fi
