"""Hosted models' keys, checked before the first call: a missing key is exit 2 naming the
variable, in well under a second and with no call made (it used to be a 500 from litellm,
retried five times, and an accuracy of 0).

What is checked, per model that goes through litellm:
- `api_key_env` set: that variable must be set and non-empty.
- a `PROVIDER/...` model whose provider is in `KEY_VARIABLES`: one of the variables litellm
  reads for it must be set and non-empty. The table mirrors `litellm.validate_environment`
  (tests/unit/test_hosted_failures.py checks it against the installed litellm), and is read
  without importing litellm, which takes seconds.
- a bare model name (`gpt-4o-mini`): litellm's own `validate_environment` says which provider
  it is; when that is one of the table's, the same rule applies.
Any other provider (`ollama/`, `bedrock/`, `vertex_ai/`, `hosted_vllm/`, ...) is not checked:
their credentials may come from a profile, a metadata server or nowhere at all, and litellm
reports a real failure at the call. Only variable names are ever shown.
"""

from __future__ import annotations

import os

from archon_cli.config.pipeline import ModelSpec
from archon_cli.errors import MissingCredentials
from archon_cli.llm.providers import provider_name
from archon_cli.llm.providers.litellm_provider import import_litellm

# litellm provider → the variables its calls read the key from (any one will do), the one to
# name first. `litellm.validate_environment` knows the first; the others are accepted by the
# call itself, so a user who set one of them is not turned away.
KEY_VARIABLES: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "groq": ("GROQ_API_KEY",),
    "mistral": ("MISTRAL_API_KEY",),
    "deepseek": ("DEEPSEEK_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY", "OR_API_KEY"),
    "together_ai": ("TOGETHERAI_API_KEY", "TOGETHER_API_KEY", "TOGETHER_AI_API_KEY", "TOGETHER_AI_TOKEN"),
    "cohere": ("COHERE_API_KEY", "CO_API_KEY"),
    "xai": ("XAI_API_KEY",),
    "fireworks_ai": ("FIREWORKS_AI_API_KEY", "FIREWORKS_API_KEY", "FIREWORKSAI_API_KEY", "FIREWORKS_AI_TOKEN"),
    "deepinfra": ("DEEPINFRA_API_KEY",),
    "cerebras": ("CEREBRAS_API_KEY",),
}


def is_set(name: str) -> bool:
    return bool(os.environ.get(name))


def missing_key(spec: ModelSpec) -> str | None:
    """Why `spec` cannot be called for want of a key (variable names only), or None."""
    if provider_name(spec.model) != "litellm":
        return None  # the engines the tool runs, and plugins' providers, need no key from here
    if spec.api_key_env:
        return None if is_set(spec.api_key_env) else f"{spec.api_key_env} (its api_key_env) is not set"
    prefix = spec.model.split("/", 1)[0] if "/" in spec.model else None
    if prefix is None:
        prefix = _litellm_provider(spec)
    names = KEY_VARIABLES.get(prefix or "")
    if names is None or any(is_set(n) for n in names):
        return None
    return (f"{names[0]} is not set" if len(names) == 1
            else f"none of {', '.join(names)} is set")


def _litellm_provider(spec: ModelSpec) -> str | None:
    """The table's provider litellm's helper names for a bare model string (it imports litellm)."""
    try:
        found = import_litellm().validate_environment(model=spec.model, api_base=spec.api_base)
    except Exception:  # a model litellm cannot place: the call will say so
        return None
    missing = set(found.get("missing_keys") or [])
    return next((p for p, names in KEY_VARIABLES.items() if missing & set(names)), None)


def credential_problems(models: dict[str, ModelSpec], path: str = "models") -> list[str]:
    """One line per model whose key is missing, naming its YAML path and the variable(s)."""
    return [f"{path}.{alias} ({spec.model}): {why}"
            for alias, spec in models.items() if (why := missing_key(spec)) is not None]


def require_credentials(models: dict[str, ModelSpec]) -> None:
    """Raise MissingCredentials (exit 2) before anything is called when a model lacks its key."""
    if problems := credential_problems(models):
        raise MissingCredentials("a hosted model's API key is not in the environment (nothing was called; "
                                 "keys are read from the environment only)", problems)
