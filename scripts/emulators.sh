#!/bin/sh
# Installs the AWS API emulators the suites run the AWS adapters against (once, into .tools/):
# moto server (PyPI `moto[server]`, pinned) in its own virtual environment. dynalite comes with
# `npm ci`. Prints the moto_server path. Idempotent: a second run only checks the version.
set -eu
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
version="5.2.5"
venv="$root/.tools/moto"
if ! "$venv/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$version')" >/dev/null 2>&1; then
  echo "inferencekey: installing moto[server] $version into .tools/moto (one time)" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "moto[server]==$version" >&2
fi
echo "$venv/bin/moto_server"
