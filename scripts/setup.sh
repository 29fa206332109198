#!/usr/bin/env bash
# Installs what Runnel and its tests need on a fresh Debian machine that has Node/npm, gcc and apt:
# Bun (pinned, via npm) if absent, the npm dependencies (`bun install`, which also builds the native
# helper), and the Debian packages of the real-client tests and benchmark peers when missing.
# Idempotent: quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

BUN_VERSION=1.4.4
if ! command -v bun >/dev/null 2>&1 || [ "$(bun --version 2>/dev/null)" != "$BUN_VERSION" ]; then
  echo "setup: installing bun@$BUN_VERSION with npm"
  npm install -g "bun@$BUN_VERSION" >/dev/null 2>&1 || npm install -g "bun@$BUN_VERSION"
fi

# Debian packages: real Kafka clients for the compatibility tests, peers for the benchmarks.
need=()
command -v kcat >/dev/null 2>&1 || need+=(kcat)
/usr/bin/python3 -c "import confluent_kafka" >/dev/null 2>&1 || need+=(python3-confluent-kafka)
/usr/bin/python3 -c "import kafka" >/dev/null 2>&1 || need+=(python3-kafka)
# kafka-python's snappy and lz4 codecs (lz4 on message format v0 also needs xxhash), for the
# old-message-format tests (test/compat/legacy-clients.test.ts).
/usr/bin/python3 -c "import snappy" >/dev/null 2>&1 || need+=(python3-snappy)
/usr/bin/python3 -c "import lz4.frame" >/dev/null 2>&1 || need+=(python3-lz4)
/usr/bin/python3 -c "import xxhash" >/dev/null 2>&1 || need+=(python3-xxhash)
# Go and segmentio/kafka-go 0.2.1 as Debian packages it (GOPATH mode, offline): test/compat/go/.
command -v go >/dev/null 2>&1 || need+=(golang-go)
[ -d /usr/share/gocode/src/github.com/segmentio/kafka-go ] || need+=(golang-github-segmentio-kafka-go-dev)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v nats-server >/dev/null 2>&1 || need+=(nats-server)
# HTTP API tests and benchmark: curl (h1 and h2c), headless Chromium for the EventSource test,
# h2load (nghttp2-client) for the HTTP/2 benchmark.
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v h2load >/dev/null 2>&1 || need+=(nghttp2-client)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# puppeteer-core never downloads a browser; the variable makes sure of it.
export PUPPETEER_SKIP_DOWNLOAD=1
bun install --frozen-lockfile 2>/dev/null || bun install
