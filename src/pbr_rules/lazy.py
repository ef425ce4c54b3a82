"""Names a package offers in its ``__init__`` but imports only when first asked for (PEP 562).

A package lists such names in a dict ``_LATER = {name: module}`` and defines
``def __getattr__(name): return lazy_attribute(globals(), _LATER, name)``; ``from package import
name`` and ``package.name`` then import ``module`` at that moment, and keep the value in the
package, so the lookup happens once. Used for what a command's start-up seldom needs.
"""

from __future__ import annotations

from importlib import import_module


def lazy_attribute(namespace: dict, later: dict[str, str], name: str):
    """``name`` from its module in ``later``, kept in ``namespace``; AttributeError for anything else."""
    module = later.get(name)
    if module is None:
        raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
    value = namespace[name] = getattr(import_module(module), name)
    return value
