"""Pydantic schemas for every YAML the tool reads, and their loading/dumping."""
