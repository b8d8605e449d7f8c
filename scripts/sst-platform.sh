#!/bin/sh
# Installs SST's platform (.sst/platform: its components, the pinned AWS provider's types) when it
# is missing or from another SST version, so tsconfig.infra.json can type-check sst.config.ts and
# infra/*. Needs only the npm registry (no AWS account): SST_SKIP_DEPENDENCY_CHECK and SST_NO_BUN
# keep `sst install` from reaching anything else.
set -e
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
cd "$root"
want=$(sh scripts/node22.sh -p 'require("./node_modules/sst/package.json").version')
have=$(cat .sst/platform/version 2>/dev/null || true)
if [ "$want" != "$have" ] || [ ! -d .sst/platform/node_modules/@pulumi/aws ]; then
  echo "inferencekey: installing the SST $want platform into .sst/platform (one time)" >&2
  SST_TELEMETRY_DISABLED=1 SST_SKIP_DEPENDENCY_CHECK=1 SST_NO_BUN=1 SST_STAGE="${SST_STAGE:-typecheck}" \
    sh scripts/sst.sh install
fi
