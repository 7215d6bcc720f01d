#!/usr/bin/env bash
# Type-check, then every test against the real kernel and real servers.
# Test files run one at a time: several change shared kernel and network state.
set -euo pipefail
cd "$(dirname "$0")/.."
tsc -p tsconfig.json
exec node --test --test-concurrency=1 --test-timeout=120000 test/*.test.ts
