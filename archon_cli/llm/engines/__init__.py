"""Inference engines the tool starts and stops itself."""
