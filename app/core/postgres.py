"""PostgreSQL connections run without JIT compilation.

The lists' statements probe one contract per agent they walk and stop at a page's end or at a
count's cap; the planner prices such a walk as if it read the whole range, and above
``jit_above_cost`` (100 000) compiles it first: 50-60 ms of LLVM for a statement that runs in
5 ms (issue 9, EXPLAIN of the staff search « DUP » at 1 000 000 agents). Nothing here runs the
long analytical queries JIT is for.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


@event.listens_for(Engine, "do_connect")
def _postgresql_connect(dialect: Any, conn_rec: Any, cargs: Any, cparams: dict[str, Any]) -> None:
    if dialect.name != "postgresql":
        return
    options = cparams.get("options", "")
    if "jit=" not in options:
        cparams["options"] = f"{options} -c jit=off".strip()
