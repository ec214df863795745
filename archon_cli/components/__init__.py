"""Inference-time techniques. Each is a small, pure class registered in COMPONENTS."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archon_cli.registry import Registry

if TYPE_CHECKING:
    from archon_cli.components.base import Component

COMPONENTS: Registry[type[Component]] = Registry("component", "archon_cli.components.builtins")
