#!/bin/sh
# Every sst command runs the SST this repository pins (package.json devDependencies, exact
# version), on Node 22: `npm run sst -- <command>`, never a global `sst`.
set -e
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
cd "$root"
exec sh scripts/node22.sh node_modules/sst/bin/sst.mjs "$@"
