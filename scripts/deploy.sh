#!/bin/sh
# `npm run deploy -- --stage <stage>`: the preflight checks against the account (reserved
# concurrency the account can grant), then the pinned SST's deploy with the same arguments.
set -e
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
cd "$root"
sh scripts/node22.sh --import tsx scripts/preflight.ts "$@"
exec sh scripts/sst.sh deploy "$@"
