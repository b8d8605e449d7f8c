#!/bin/sh
# Installs the vendor's official Python SDK (PyPI `inferencekey`, pinned) into its own virtual
# environment under .tools/ (once), for the wire-compatibility suite (test/compat/vendor-sdk.test.ts).
# Prints the environment's python. Idempotent: a second run only checks the version.
set -eu
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
version="0.260725.739"
venv="$root/.tools/vendor-sdk-$version"
if ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('inferencekey') != '$version')" >/dev/null 2>&1; then
  echo "inferencekey: installing the vendor SDK inferencekey==$version into $venv (one time)" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "inferencekey==$version" >&2
fi
echo "$venv/bin/python"
