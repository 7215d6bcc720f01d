#!/usr/bin/env bash
# From a fresh Debian machine to a working Wireflame: system packages, npm
# packages (Node 24 among them), the BPF object and the native addon.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  # build of the eBPF programs and the libbpf addon
  clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool make g++ pkg-config
  # tests and benchmarks: network namespaces, tc qdiscs, privilege drop, load,
  # a throw-away TLS certificate, CPU sampling (bench/cpu-breakdown.ts),
  # instruction counts (bench/instructions.ts)
  iproute2 util-linux wrk openssl linux-perf valgrind
  # throw-away backends for the scenarios (started on free ports, never as services)
  redis-server postgresql
  # the Pushgateway the metrics tests push to
  prometheus-pushgateway
  # `go tool pprof`, which the tests use to read the profiles we write, and
  # the browser (driven by playwright-core) that opens the flame graph page
  golang-go chromium
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

npm ci --no-audit --no-fund
npm run build
echo "setup: done. Try: npx wireflame doctor --live"
