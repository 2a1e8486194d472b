#!/usr/bin/env bash
# One command for a newcomer: virtualenv, pinned dependencies, embedded SQLite database under
# instance/, roles, reference data, demo data, then the French back-office on http://127.0.0.1:5000
# Another address or port: HOST=0.0.0.0 PORT=8080 bash scripts/run.sh (e-mail links follow them
# unless PUBLIC_URL is set, see config.public_url).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -r requirements.txt

export FLASK_APP=run.py
# Exported before the first flask command: config.py builds PUBLIC_URL from them.
export HOST=${HOST:-127.0.0.1}
export PORT=${PORT:-5000}
.venv/bin/flask db upgrade
.venv/bin/flask seed-roles
.venv/bin/flask seed-reference
.venv/bin/flask demo-data --scale "${DEMO_SCALE:-300}" --seed "${DEMO_SEED:-1}"

echo
echo "MédecinePrev : http://$HOST:$PORT/"
echo "Comptes de démonstration (identifiant, rôle) — instance/demo-accounts.txt :"
cat instance/demo-accounts.txt
echo
# The job scheduler (APScheduler, `flask scheduler`) runs beside the server and stops with it;
# its runs are listed in Administration › Tâches planifiées.
.venv/bin/flask scheduler > instance/scheduler.log 2>&1 &
SCHEDULER_PID=$!
trap 'kill "$SCHEDULER_PID" 2>/dev/null || true' EXIT
echo "Planificateur des tâches lancé (journal : instance/scheduler.log)."
.venv/bin/flask run --host "$HOST" --port "$PORT"
