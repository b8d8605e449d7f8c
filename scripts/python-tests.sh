#!/bin/sh
# The Python SDK's whole check, run from the repository root by `npm test` and CI on a clean
# machine: creates packages/sdk-python/.venv when missing, installs the SDK with its dev extras,
# then ruff, mypy --strict and pytest. Exits non-zero on any failure; pytest's exit 5 ("no tests
# collected") is a failure too.
set -eu
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
cd "$root"
sdk=packages/sdk-python
venv="$sdk/.venv"

if [ ! -x "$venv/bin/python" ]; then
  echo "== python sdk: creating $venv"
  python3 -m venv "$venv"
fi
py="$root/$venv/bin/python"

echo "== python sdk: install"
"$py" -m pip install -q --disable-pip-version-check -e "$sdk[dev]"

cd "$sdk"
echo "== python sdk: ruff"
"$py" -m ruff check .
echo "== python sdk: mypy --strict"
"$py" -m mypy --strict src
echo "== python sdk: pytest"
status=0
"$py" -m pytest -q "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "python sdk: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
