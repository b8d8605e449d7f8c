#!/bin/sh
# The whole check: type-check (the code, then the infrastructure), lint, the AWS emulators installed (moto server, once), every
# TypeScript suite, then the Python SDK suite.
set -e
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
cd "$root"
echo "== type-check"
sh scripts/node22.sh node_modules/typescript/bin/tsc -p tsconfig.json --noEmit
echo "== infra type-check (sst.config.ts, infra/* against the pinned SST's platform types)"
sh scripts/sst-platform.sh
sh scripts/node22.sh node_modules/typescript/bin/tsc -p tsconfig.infra.json
echo "== lint"
sh scripts/node22.sh node_modules/@biomejs/biome/bin/biome lint .
echo "== emulators"
sh scripts/emulators.sh >/dev/null
echo "== vitest"
if [ "$#" -eq 0 ]; then
  # Every suite but the Lambda load benchmark, then that one alone: it holds each function's cold
  # start to a CPU-time target, which suites running beside it on a two-core machine would inflate.
  sh scripts/node22.sh node_modules/vitest/vitest.mjs run --exclude functions/test/bundles.test.ts
  echo "== Lambda bundle load (alone)"
  sh scripts/node22.sh node_modules/vitest/vitest.mjs run functions/test/bundles.test.ts
else
  sh scripts/node22.sh node_modules/vitest/vitest.mjs run "$@"
fi
if [ -f packages/sdk-python/pyproject.toml ]; then
  echo "== python sdk"
  sh scripts/python-tests.sh
fi
