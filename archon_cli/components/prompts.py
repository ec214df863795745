"""Prompt templates live in `prompts/<component>.yaml` as package data, not in code."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

import yaml

from archon_cli.errors import PromptError


class Prompts:
    def __init__(self, templates: dict[str, str], name: str = "prompts") -> None:
        self._templates = templates
        self._name = name

    @classmethod
    def for_component(cls, name: str) -> Prompts:
        return cls(_load(name), name)

    def get(self, key: str) -> str | None:
        return self._templates.get(key)

    def render(self, key: str, **values: Any) -> str:
        template = self._templates.get(key)
        if template is None:
            raise PromptError(f"prompts/{self._name}.yaml: no template {key!r} (missing file or key)")
        try:
            return template.format(**values)
        except (KeyError, IndexError) as exc:
            raise PromptError(f"prompts/{self._name}.yaml: template {key!r} uses {{{exc.args[0]}}}, "
                              f"which is not given (given: {', '.join(sorted(values))})") from None


@cache
def _load(name: str) -> dict[str, str]:
    resource = files("archon_cli.components") / "prompts" / f"{name}.yaml"
    if not resource.is_file():
        return {}
    data = yaml.safe_load(resource.read_text(encoding="utf-8")) or {}
    return {str(k): str(v) for k, v in data.items()}
