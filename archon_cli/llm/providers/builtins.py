"""Importing this module registers the built-in providers."""

from archon_cli.llm.providers import litellm_provider, local, vllm_provider  # noqa: F401
