"""Where completions come from. A model string `PREFIX/rest` goes to the provider registered
as PREFIX (`local`, `vllm`, or a plugin's); any other string goes to `litellm` as is."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archon_cli.registry import Registry

if TYPE_CHECKING:
    from archon_cli.llm.providers.base import Provider

PROVIDERS: Registry[type[Provider]] = Registry("model provider", "archon_cli.llm.providers.builtins")


def provider_name(model: str) -> str:
    prefix = model.split("/", 1)[0] if "/" in model else ""
    return prefix if prefix and prefix in PROVIDERS else "litellm"
