"""The FastAPI app: POST /v1/chat/completions, GET /v1/models, GET /health, GET /metrics.

Checks run in this order, each failing fast in OpenAI's error shape: API key (401), body size
(413), JSON and fields (400), model (404), queue (429). /health and /metrics need no key (as in
vLLM), so that probes and scrapers work without it.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from archon_cli.serve.api_errors import APIError
from archon_cli.serve.protocol import (
    ChatCompletionRequest,
    archon_body,
    chunk_body,
    completion_body,
    models_body,
    new_id,
    parse_request,
    sse,
    usage_body,
)
from archon_cli.serve.service import ChatService, ClientDisconnected, unless_disconnected, until_disconnect

log = logging.getLogger("archon.serve")

KEEPALIVE_S = 10.0  # an SSE comment while the pipeline runs: proxies keep the stream open
_NO_BODY_STATUS = 499  # nginx's "client closed request": nobody reads it, the access log shows it


def create_app(service: ChatService, api_key: str | None = None) -> FastAPI:
    app = FastAPI(title="archon serve", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.service = service
    metrics = service.metrics

    def failed(exc: APIError, model: str = "") -> JSONResponse:
        metrics.inc("archon_serve_errors_total", kind=exc.kind)
        metrics.inc("archon_serve_requests_total", model=model, status=str(exc.status))
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(APIError)
    async def _api_error(request: Request, exc: APIError) -> JSONResponse:
        return failed(exc)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
        kind = "not_found" if exc.status_code == 404 else "http_error"
        return failed(APIError(exc.status_code, str(exc.detail), kind=kind))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:  # the request boundary
        log.exception("request failed")
        return failed(APIError(500, "internal server error", kind="internal", type="server_error"))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return failed(APIError(400, str(exc), kind="invalid_request"))

    def authorize(request: Request) -> None:
        if api_key is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        # Constant-time on the bytes; the key is never logged or echoed.
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), api_key.encode()):
            raise APIError(401, "Incorrect or missing API key: send `Authorization: Bearer <key>`", kind="unauthorized",
                           type="invalid_request_error", code="invalid_api_key")

    async def read_body(request: Request) -> bytes:
        cap = service.limits.max_body_bytes
        too_large = APIError(413, f"the request body is larger than {cap} bytes", kind="body_too_large",
                             code="request_too_large")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise too_large
        body = bytearray()
        try:
            async for part in request.stream():
                body += part
                if len(body) > cap:
                    raise too_large
        except ClientDisconnect:
            raise ClientDisconnected from None
        return bytes(body)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "models": sorted(service.served), "in_flight": metrics.in_flight}

    @app.get("/metrics")
    async def metrics_text() -> PlainTextResponse:
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/v1/models")
    async def list_models(request: Request) -> dict[str, Any]:
        authorize(request)
        return models_body(sorted(service.served), service.started)

    @app.post("/v1/chat/completions", response_model=None)
    async def chat_completions(request: Request) -> Response:
        try:
            return await answer(request)
        except ClientDisconnected:
            metrics.inc("archon_serve_errors_total", kind="client_disconnected")
            return Response(status_code=_NO_BODY_STATUS)

    async def answer(request: Request) -> Response:
        authorize(request)
        req = parse_request(await read_body(request), service.limits.max_messages)
        service.check_model(req.model)
        if req.stream:
            return EventStream(service, req)
        with service.admitted():
            request_id = new_id()
            try:
                result = await unless_disconnected(service.complete(req, request_id), request.receive)
            except APIError as exc:
                return failed(exc, req.model)
        metrics.inc("archon_serve_requests_total", model=req.model, status="200")
        return JSONResponse(completion_body(request_id, req.model, result))

    return app


class EventStream(Response):
    """`stream: true`: server-sent events in OpenAI's chunk format. The executor hands over the
    final layer's text whole, so the answer comes as one content chunk (after a role chunk sent at
    once, and keep-alive comments while the pipeline runs), then the finish chunk, the usage chunk
    when `stream_options.include_usage` asks for it, and `data: [DONE]`."""

    def __init__(self, service: ChatService, req: ChatCompletionRequest) -> None:
        super().__init__(media_type="text/event-stream")
        self.service, self.req = service, req

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        service, req, metrics = self.service, self.req, self.service.metrics
        try:
            with service.admitted():
                await self._stream(receive, send)
            metrics.inc("archon_serve_requests_total", model=req.model, status="200")
        except APIError as exc:  # the queue was full: nothing sent yet
            metrics.inc("archon_serve_errors_total", kind=exc.kind)
            metrics.inc("archon_serve_requests_total", model=req.model, status=str(exc.status))
            await JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)(scope, receive, send)
        except (ClientDisconnected, OSError):
            metrics.inc("archon_serve_errors_total", kind="client_disconnected")

    async def _stream(self, receive: Receive, send: Send) -> None:
        req, request_id, created = self.req, new_id(), int(time.time())
        headers = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache"),
                   (b"x-accel-buffering", b"no")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})

        async def body(data: bytes) -> None:
            await send({"type": "http.response.body", "body": data, "more_body": True})

        await body(sse(chunk_body(request_id, req.model, created, {"role": "assistant", "content": ""})))
        work = asyncio.ensure_future(self.service.complete(req, request_id))
        watch = asyncio.ensure_future(until_disconnect(receive))
        try:
            while not work.done():
                done, _ = await asyncio.wait({work, watch}, timeout=KEEPALIVE_S, return_when=asyncio.FIRST_COMPLETED)
                if watch in done:
                    raise ClientDisconnected
                if not done:
                    await body(b": keep-alive\n\n")
        finally:
            watch.cancel()
            if not work.done():
                work.cancel()
        try:
            result = work.result()
        except APIError as exc:  # headers are sent: the error travels as an event (the SDK raises it)
            self.service.metrics.inc("archon_serve_errors_total", kind=exc.kind)
            await body(sse(exc.body()))
        else:
            await body(sse(chunk_body(request_id, req.model, created, {"content": result.output})))
            await body(sse(chunk_body(request_id, req.model, created, {}, finish_reason="stop")))
            if req.stream_options is not None and req.stream_options.include_usage:
                await body(sse({"id": request_id, "object": "chat.completion.chunk", "created": created,
                                "model": req.model, "choices": [], "usage": usage_body(result.usage),
                                "archon": archon_body(result)}))
        await body(sse("[DONE]"))
        await send({"type": "http.response.body", "body": b"", "more_body": False})
