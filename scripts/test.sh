#!/bin/sh
# The whole check: type-check, lint, every TypeScript suite, then the Python SDK suite.
set -e
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
cd "$root"
echo "== type-check"
sh scripts/node22.sh node_modules/typescript/bin/tsc -p tsconfig.json --noEmit
echo "== lint"
sh scripts/node22.sh node_modules/@biomejs/biome/bin/biome lint .
echo "== vitest"
sh scripts/node22.sh node_modules/vitest/vitest.mjs run "$@"
if [ -f packages/sdk-python/pyproject.toml ]; then
  echo "== python sdk"
  sh scripts/python-tests.sh
fi
