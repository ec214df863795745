"""Health checks for OpenAI-compatible servers (llama.cpp and vLLM both answer GET /health)."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request


def healthy(root_url: str, timeout_s: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{root_url}/health", timeout=timeout_s) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
