"""HTTP guards every service shares: bounded bodies, clean URLs, and errors answered as 4xx or 503.

Both middlewares are plain ASGI, so they act before FastAPI reads or parses anything.
"""

import json
from typing import Annotated, Any
from urllib.parse import unquote_to_bytes

from fastapi import Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, StringConstraints
from sqlalchemy.exc import DBAPIError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import principal_of
from shared.db import is_transient
from shared.fields import clean_text, scrub
from shared.signals import Timing

RETRY_AFTER_SECONDS = 5

Login = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(clean_text)]
SAID = "Who acts, where authentication is off (a developer's process); with it, the signed-in person or partner."


def _acting(request: Request, said: Annotated[Login | None, Header(alias="X-Actor", description=SAID)] = None) -> str:
    """Who acts: the signed-in person or partner; where authentication is off, whoever `X-Actor` names."""
    principal = principal_of(request)
    if principal.kind != "anonymous":
        return principal.name
    if said is None:
        missing = {"type": "missing", "loc": ("header", "X-Actor"), "msg": "Field required", "input": None}
        raise RequestValidationError([missing])
    return said


def _submitting(
    request: Request, said: Annotated[Login | None, Header(alias="X-Actor", description=SAID)] = None
) -> str:
    """Who submits: the signed-in caller; where authentication is off, `X-Actor` or `api` when not said."""
    principal = principal_of(request)
    return principal.name if principal.kind != "anonymous" else said or "api"


Actor = Annotated[str, Depends(_acting)]
Submitter = Annotated[str, Depends(_submitting)]


async def _answer(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Refuse a request body over `max_bytes` with 413, by its Content-Length or while it streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_bytes:
            return await _answer(send, 413, f"request body over {self.max_bytes} bytes")
        seen, refused = 0, False

        async def counted() -> Message:
            nonlocal seen, refused
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                refused = True
                raise BodyTooLarge
            return message

        async def answered(message: Message) -> None:
            # whatever the app makes of the aborted read (FastAPI: 400), the answer is 413
            if not refused:
                await send(message)
            elif message["type"] == "http.response.start":
                await _answer(send, 413, f"request body over {self.max_bytes} bytes")

        try:
            await self.app(scope, counted, answered)
        except BodyTooLarge:
            await _answer(send, 413, f"request body over {self.max_bytes} bytes")


class CleanUrl:
    """Refuse with 400 a path or query that holds NUL, control characters or bytes that are not UTF-8."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for part, raw in (("path", scope.get("raw_path") or b""), ("query", scope.get("query_string", b""))):
                try:
                    decoded = unquote_to_bytes(raw).decode("utf-8")
                except UnicodeDecodeError:
                    return await _answer(send, 400, f"{part} is not valid UTF-8")
                try:
                    clean_text(decoded)
                except ValueError as error:
                    return await _answer(send, 400, f"{part} {error}")
        await self.app(scope, receive, send)


async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """422 naming each field at fault; the offending input is not echoed back (it may be huge or not encodable)."""
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"loc": [scrub(str(p), 200) if isinstance(p, str) else p for p in e["loc"]], "msg": scrub(e["msg"], 500)}
        | {"type": e["type"]}
        for e in exc.errors()[:50]
    ]
    return JSONResponse(status_code=422, content={"detail": problems})


async def database_error(request: Request, exc: Exception) -> JSONResponse:
    """An outage is 503 with Retry-After; a value the database refuses is the caller's (422); else a bug."""
    assert isinstance(exc, DBAPIError)
    if is_transient(exc):
        return JSONResponse(
            status_code=503,
            content={"detail": "database unavailable, retry later"},
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    state = str(getattr(exc.orig, "sqlstate", "") or "")
    if state.startswith("22"):  # data exception: out of range, bad encoding, ...
        return JSONResponse(status_code=422, content={"detail": "a value is out of range or not storable"})
    if state.startswith("23"):  # integrity constraint
        return JSONResponse(status_code=409, content={"detail": "conflicts with existing data"})
    raise exc


async def unavailable(request: Request, exc: Exception) -> JSONResponse:
    """A network failure on the way to the database or broker: 503 with Retry-After."""
    return JSONResponse(
        status_code=503,
        content={"detail": f"a backing service is unavailable, retry later ({type(exc).__name__})"},
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def install(app: Any, *, max_body_bytes: int) -> None:
    """Put the guards and error answers on a FastAPI app."""
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(CleanUrl)
    app.add_middleware(Timing)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(DBAPIError, database_error)
    for error in (OSError, TimeoutError):
        app.add_exception_handler(error, unavailable)
