"""Prompt templates live in `prompts/<component>.yaml` as package data, not in code."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

import yaml


class Prompts:
    def __init__(self, templates: dict[str, str]) -> None:
        self._templates = templates

    @classmethod
    def for_component(cls, name: str) -> Prompts:
        return cls(_load(name))

    def get(self, key: str) -> str | None:
        return self._templates.get(key)

    def render(self, key: str, **values: Any) -> str:
        return self._templates[key].format(**values)


@cache
def _load(name: str) -> dict[str, str]:
    resource = files("archon_cli.components") / "prompts" / f"{name}.yaml"
    if not resource.is_file():
        return {}
    data = yaml.safe_load(resource.read_text(encoding="utf-8")) or {}
    return {str(k): str(v) for k, v in data.items()}
