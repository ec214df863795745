"""archon-cli: search for the best compound LLM system for a task."""

__version__ = "0.1.0"
