"""Start-up time of a few ``flask`` commands (a fresh process each run): median of N runs.

    .venv/bin/python benchmarks/startup.py [--repeat 5] [--importtime]

Each command runs with a throw-away INSTANCE_DIR and SQLite DATABASE_URL (the real instance/ is
never touched), from the repository root, through the virtualenv's ``flask`` script. The load
average (os.getloadavg) is printed before and after: on a busy machine the figures are higher.
Bytecode is cached under the temporary directory (PYTHONPYCACHEPREFIX, as an ordinary install
writes its __pycache__); --no-bytecode-cache measures with PYTHONDONTWRITEBYTECODE (every module of
the app compiled at each start). --importtime also prints the 15 slowest imports (cumulated, ``python -X importtime``) of
``create_app()``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
COMMANDS: dict[str, list[str]] = {
    "flask --help": [str(BIN / "flask"), "--app", "run", "--help"],
    "flask roles matrix": [str(BIN / "flask"), "--app", "run", "roles", "matrix"],
    "flask routes": [str(BIN / "flask"), "--app", "run", "routes"],
    "flask db current": [str(BIN / "flask"), "--app", "run", "db", "current"],
    "python: create_app()": [sys.executable, "-c", "from app import create_app; create_app()"],
    "python: (interpreter only)": [sys.executable, "-c", "pass"],
}


def _environment(directory: str, bytecode_cache: bool) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "FLASK_APP", "PUBLIC_URL", "PYTHONDONTWRITEBYTECODE"}
    }
    env.update(
        INSTANCE_DIR=directory,
        DATABASE_URL=f"sqlite:///{directory}/startup.db",
        PYTHONPATH=str(ROOT),
    )
    if bytecode_cache:
        env["PYTHONPYCACHEPREFIX"] = f"{directory}/pycache"
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def time_command(
    command: list[str], env: dict[str, str], repeat: int
) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU (user + system of the child) seconds of each run."""
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
        walls.append(time.perf_counter() - began)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


def slowest_imports(env: dict[str, str], count: int = 15) -> list[tuple[int, str]]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "from app import create_app; create_app()"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        _, cumulated, name = line.split(":", 1)[1].split("|")
        rows.append((int(cumulated), name.rstrip()))
    return sorted(rows, reverse=True)[:count]


def _print_load() -> None:
    one, five, fifteen = os.getloadavg()
    print(f"load average (1, 5, 15 min): {one:.2f} {five:.2f} {fifteen:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--importtime", action="store_true")
    parser.add_argument("--no-bytecode-cache", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        env = _environment(directory, bytecode_cache=not args.no_bytecode_cache)
        # Unmeasured runs: the secret key file, bytecode caches and the SQLite file exist.
        for command in (COMMANDS["flask --help"], COMMANDS["flask db current"]):
            subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
        _print_load()
        print(
            f"{'command':<28} {'median':>8} {'min':>8} {'max':>8} {'CPU med.':>9}"
            f"   ({args.repeat} runs; CPU = user + system, less sensitive to the load)"
        )
        for label, command in COMMANDS.items():
            walls, cpus = time_command(command, env, args.repeat)
            print(
                f"{label:<28} {statistics.median(walls):7.2f}s "
                f"{min(walls):7.2f}s {max(walls):7.2f}s {statistics.median(cpus):8.2f}s"
            )
        _print_load()
        if args.importtime:
            print("\nslowest imports of create_app() (cumulated):")
            for cumulated, name in slowest_imports(env):
                print(f"{cumulated / 1000:8.0f} ms {name}")


if __name__ == "__main__":
    main()
