#!/usr/bin/env bash
# One command for the whole test suite: virtualenv, pinned dependencies, then pytest on SQLite and,
# when TEST_DATABASE_URL (or a PostgreSQL DATABASE_URL) is set, the same suite on PostgreSQL.
# Browser tests need Debian's chromium (apt-get install -y chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -r requirements-dev.txt

PG_URL=${TEST_DATABASE_URL:-}
if [ -z "$PG_URL" ] && [[ "${DATABASE_URL:-}" == postgres* ]]; then
  PG_URL=$DATABASE_URL
fi

# Workers: TEST_WORKERS=1 runs in one process; each worker has its own database.
WORKERS=(-n "${TEST_WORKERS:-auto}" --dist loadfile)

.venv/bin/ruff check app tests benchmarks
.venv/bin/mypy

echo "== pytest on SQLite =="
env -u DATABASE_URL -u TEST_DATABASE_URL .venv/bin/python -m pytest "${WORKERS[@]}" "$@"

if [ -n "$PG_URL" ]; then
  echo "== pytest on PostgreSQL =="
  env -u DATABASE_URL TEST_DATABASE_URL="$PG_URL" .venv/bin/python -m pytest "${WORKERS[@]}" "$@"
fi
