"""Name → class registries for the extension points (components, scorers, datasets).

Built-ins register through the same decorator a plugin uses. A plugin package exposes an
entry point in the group `archon_cli.plugins`; loading it imports the module, whose
decorators register its classes. Plugins load once, on the first lookup.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from archon_cli.errors import ConfigError

PLUGIN_GROUP = "archon_cli.plugins"

T = TypeVar("T")

_plugins_loaded = False


def load_plugins() -> None:
    """Import every installed plugin module once."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for ep in entry_points(group=PLUGIN_GROUP):
        ep.load()


class Registry(Generic[T]):
    """A named table of classes of one kind (`kind` is used in error messages)."""

    def __init__(self, kind: str, builtins_module: str) -> None:
        self.kind = kind
        self._builtins_module = builtins_module
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorate(item: T) -> T:
            if name in self._items and self._items[name] is not item:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = item
            return item

        return decorate

    def _ensure_loaded(self) -> None:
        __import__(self._builtins_module)
        load_plugins()

    def get(self, name: str) -> T:
        self._ensure_loaded()
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items))
            close = difflib.get_close_matches(name, list(self._items), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"unknown {self.kind} {name[:100]!r}{hint} (known: {known})") from None

    def names(self) -> list[str]:
        self._ensure_loaded()
        return sorted(self._items)

    def __iter__(self) -> Iterator[tuple[str, T]]:
        self._ensure_loaded()
        return iter(sorted(self._items.items()))

    def __contains__(self, name: str) -> bool:
        self._ensure_loaded()
        return name in self._items
