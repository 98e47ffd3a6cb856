"""Request bodies larger than ``max_body_bytes`` get 413 without being held in memory.

A declared ``Content-Length`` over the limit is answered before a byte of the body is read. A
body without one (chunked) is counted as it arrives; the message that crosses the limit raises
:class:`BodyTooLargeError` inside the route reading it, which answers 413 through the API's
error translator — the body read so far is at most the limit plus one chunk.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smote_monitor.server.errors import HTTPProblem, error_response


class BodyTooLargeError(HTTPProblem):
    def __init__(self, limit: int, received: int | str) -> None:
        super().__init__(
            413,
            f"request body: got {received} bytes; expected at most {limit} "
            "(the max_body_bytes setting); send smaller batches",
            field="body",
            value=f"{received} bytes",
            expected=f"at most {limit} bytes (max_body_bytes)",
        )


class BodyLimitMiddleware:
    """Pure ASGI, so it sees the body as it streams in (no buffering middleware in between)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.limit = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            response = error_response(BodyTooLargeError(self.limit, declared))
            # The unread body cannot be skipped on this connection: close it after answering.
            response.headers["Connection"] = "close"
            await response(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLargeError(self.limit, f"more than {self.limit}")
            return message

        await self.app(scope, counting_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # h11 refuses such a request before it reaches us
    return None
