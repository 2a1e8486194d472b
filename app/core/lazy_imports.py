"""Third-party packages Flask-AppBuilder imports at start-up but the application needs later or
never: their import is deferred to first use (``benchmarks/startup.py``; guarded by
tests/integration/test_startup.py). ``install()`` must run before ``flask_appbuilder`` is imported.

- ``jsonschema`` (with ``referencing``, ``rpds``, ``attrs``: 100-180 ms): FAB's API module runs
  ``import jsonschema`` to check the REST ``q`` argument, and app/core/rison_schemas.py replaces
  the name it uses; the package runs at the first ``q`` argument checked.
- ``sqlalchemy_utils`` (120-210 ms): FAB imports ``sqlalchemy_utils.types.uuid.UUIDType`` only
  to compare column types with it, and that submodule imports nothing else of the package, but
  importing a submodule runs its packages' ``__init__`` (every type, aggregate and listener of
  the library).

Each package is created without running its ``__init__`` (its ``__path__`` set, so that its
submodules import) and completes itself at the first attribute read that it does not have yet
(PEP 562 ``__getattr__``): ``import jsonschema; jsonschema.validate`` or ``from sqlalchemy_utils
import ArrowType`` work as before, with the same objects. (``importlib.util.LazyLoader`` does
not help here: on Python 3.11 the next ``import`` statement reads ``__spec__`` and loads it.)
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

DEFERRED = ("jsonschema", "sqlalchemy_utils", "sqlalchemy_utils.types")
# Submodules that import without completing their packages (they need nothing else of them).
STANDALONE = frozenset({"sqlalchemy_utils.types.uuid", "sqlalchemy_utils.types.scalar_coercible"})

_pending: dict[str, Callable[[], None]] = {}  # hollow package -> runs its ``__init__``


def _hollow(name: str) -> None:
    """The package ``name`` with its ``__path__`` (so that its submodules import) but its
    ``__init__`` run only when an attribute it does not have yet is read, or a submodule outside
    STANDALONE is imported."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return
    module = importlib.util.module_from_spec(spec)
    loader = spec.loader

    def complete() -> None:
        if _pending.pop(name, None) is None:
            return  # completed, or completing
        module.__dict__.pop("__getattr__", None)
        loader.exec_module(module)

    def missing(attribute: str) -> Any:
        if name not in _pending:
            raise AttributeError(f"module {name!r} has no attribute {attribute!r}")
        complete()
        return getattr(module, attribute)

    module.__getattr__ = missing  # type: ignore[method-assign]
    _pending[name] = complete
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent and isinstance(sys.modules.get(parent), ModuleType):
        setattr(sys.modules[parent], child, module)


class _Loaded(importlib.abc.Loader):
    """The loader of a submodule its package's ``__init__`` has just imported: the import ends
    with that module, unchanged (its own spec back in place), instead of running it again."""

    def __init__(self, original: importlib.machinery.ModuleSpec | None) -> None:
        self.original = original

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return sys.modules[spec.name]

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self.original


class _CompleteFirst(importlib.abc.MetaPathFinder):
    """A submodule of a hollow package is imported: the package's ``__init__`` runs first (as
    without deferral), so that a submodule never starts before the package it imports from."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not _pending or fullname in STANDALONE:
            return None
        parts = fullname.split(".")
        completed = False
        for depth in range(1, len(parts)):
            complete = _pending.get(".".join(parts[:depth]))
            if complete is not None:
                complete()
                completed = True
        existing = sys.modules.get(fullname) if completed else None
        if existing is None:
            return None
        # The import system answers with the spec of a module already in sys.modules.
        spec = importlib.util.spec_from_loader(fullname, _Loaded(existing.__spec__))
        existing.__spec__ = spec
        return spec


def install() -> None:
    for name in DEFERRED:
        _hollow(name)
    if not any(isinstance(finder, _CompleteFirst) for finder in sys.meta_path):
        sys.meta_path.insert(0, _CompleteFirst())
