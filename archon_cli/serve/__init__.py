"""`archon serve`: pipelines behind an OpenAI-compatible chat-completions endpoint.

protocol.py (the wire format), api_errors.py (OpenAI error shapes), sources.py (which pipelines),
sampling.py (request temperature / max_tokens), metrics.py (Prometheus text), service.py (runs
requests through one shared LLM client), app.py (the FastAPI app), server.py (uvicorn, signals,
engines), ray_serve.py (the same app as a Ray Serve deployment).
"""
