"""LLM access: the litellm client, its SQLite cache, the usage meter and the engines."""
