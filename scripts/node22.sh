#!/bin/sh
# Runs Node 22 (the Lambda nodejs22.x runtime) whatever the machine's own node is.
# When the node on PATH is older, a Node 22 binary is fetched once from the npm registry (the
# package for this OS and CPU, see node-platform-package.sh) into .tools/ and used from then on.
set -e
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
node_bin=""
if command -v node >/dev/null 2>&1; then
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$major" -ge 22 ]; then node_bin=$(command -v node); fi
fi
if [ -z "$node_bin" ]; then
  node_bin="$root/.tools/node22/bin/node"
  if [ ! -x "$node_bin" ]; then
    package=$(sh "$root/scripts/node-platform-package.sh" "$(uname -s)" "$(uname -m)") || exit 1
    echo "inferencekey: installing Node 22 into .tools/node22 from $package (one time)" >&2
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "$package@22" >/dev/null && tar xzf "$package"-*.tgz)
    mkdir -p "$root/.tools"
    rm -rf "$root/.tools/node22"
    mv "$tmp/package" "$root/.tools/node22"
    rm -rf "$tmp"
  fi
  PATH="$root/.tools/node22/bin:$PATH"
  export PATH
fi
# node:sqlite (the embedded store) still prints an ExperimentalWarning on 22.x; child Node
# processes (test workers, the platform under test) inherit the setting through NODE_OPTIONS.
NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--disable-warning=ExperimentalWarning"
export NODE_OPTIONS
exec "$node_bin" "$@"
