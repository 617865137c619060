"""A package's public names, imported from their modules on first use (PEP 562).

The package root, ``notebook``, ``testing`` and the command line each keep one table of where
their names live; :func:`exports` turns it into the module's ``__getattr__`` and ``__dir__``, so
importing the package loads nothing until a name is asked for. A leaf: standard library only.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["exports"]


def exports(
    package: str,
    where: Mapping[str, str],
    namespace: dict[str, Any],
    *,
    rename_private: bool = False,
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose names ``where`` maps to modules.

    A name equal to its module's last part is that module (``"errors"`` →
    ``picker_discovery.errors``); any other is the module's attribute of that name. The value
    is stored in ``namespace`` (the package's ``globals()``), so later lookups skip the hook.
    With ``rename_private``, a class or function defined in a private module (``_client``)
    reads as the package's own (``picker_discovery.PickerClient``).
    """

    def __getattr__(name: str) -> Any:
        target = where.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(target)
        value = module if target.rsplit(".", 1)[1] == name else getattr(module, name)
        if (
            rename_private
            and target.startswith(f"{package}._")
            and getattr(value, "__module__", None) == target
        ):
            value.__module__ = package
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(where))

    return __getattr__, __dir__
