"""The trace port: an aiohttp server on its own thread and loop, in front of the Agent's 8126 (or in its place).

With `forward`, every request goes on to the Agent with its method, path, body and headers
(minus hop-by-hop ones), and the Agent's status, headers and body come back unchanged. Without
it, tundra answers as a minimal Agent: `/info`, the trace endpoints and the EVP proxy.
Either way the body is queued before the reply is sent (an answered body is counted: drain() after a
reply waits for it, and stop() decodes it) and decoded on a decoder thread of its own, so a slow or
failing decode never holds up the app's answer.
"""

from __future__ import annotations

import asyncio
import collections
import json
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..model.spans import SpanBook
from ..sources.urls import BadURL, split_url
from ..traces import LLMSpan, decode, endpoint

if TYPE_CHECKING:  # aiohttp is imported when the port starts: every command imports this module, few serve
    from aiohttp import ClientSession, web

DEFAULT_TRACES = "http://127.0.0.1:8126"
MAX_REQUEST_BYTES = 25 * 1024 * 1024  # the Agent's own apm_config.max_request_bytes default
MAX_AGENT_REQUEST_BYTES = 256 * 1024 * 1024  # the most of an Agent's own setting tundra adopts (bodies sit in memory)
MAX_PENDING_BYTES = 64 * 1024 * 1024  # bodies waiting for the decoder; past this they are counted, not decoded
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
                        "trailers", "transfer-encoding", "upgrade", "proxy-connection"})
_NOT_RELAYED = HOP_BY_HOP | {"host", "content-length"}  # aiohttp writes these for the hop it makes


class TraceProxyError(Exception):
    """The trace port could not start (bad URL, busy port)."""


def parse_http_url(url: str, what: str = "--traces") -> tuple[str, int]:
    """`http://HOST:PORT` as (host, port), or TraceProxyError with a one-line reason."""
    try:
        parts, port = split_url(url, f"{what} URL")
    except BadURL as exc:
        raise TraceProxyError(str(exc)) from None
    if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/"):
        raise TraceProxyError(f"bad {what} URL {url!r}: expected http://HOST:PORT")
    return parts.hostname, 8126 if port is None else port


def check_forward_url(url: str) -> str:
    """The Agent's base URL (`http(s)://HOST[:PORT]`) without a trailing slash, or TraceProxyError."""
    try:
        parts = split_url(url, "--traces-forward URL")[0]
    except BadURL as exc:
        raise TraceProxyError(str(exc)) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise TraceProxyError(f"bad --traces-forward URL {url!r}: expected http://HOST:PORT")
    return url.rstrip("/")


def agent_info(port: int, max_request_bytes: int = MAX_REQUEST_BYTES) -> dict[str, Any]:
    """The minimal Agent's /info: what ddtrace checks before it puts LLM spans in meta_struct."""
    return {"version": f"tundra-{__version__}", "endpoints": ["/v0.4/traces", "/v0.5/traces", "/evp_proxy/v2/",
                                                             "/info"],
            "span_meta_structs": True, "client_drop_p0s": False, "feature_flags": [],
            "config": {"receiver_port": port, "max_request_bytes": max_request_bytes}}


class TraceProxy:
    """Serves the trace port; decoded LLM spans go into `book` (and to `on_spans`, e.g. a recorder)."""

    def __init__(self, listen: str, book: SpanBook, forward: str | None = None,
                 on_spans: Callable[[list[LLMSpan], int], None] | None = None, timeout_s: float = 10.0,
                 max_request_bytes: int = MAX_REQUEST_BYTES) -> None:
        self.host, self.port = parse_http_url(listen)
        self.forward = check_forward_url(forward) if forward else None
        self.book = book
        self.on_spans = on_spans
        self.timeout_s = timeout_s
        self.max_request_bytes = max_request_bytes
        self.requests = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._start_error: str | None = None
        self._stop_async: asyncio.Event | None = None
        self._queue: collections.deque[tuple[str, bytes, str, str, int]] = collections.deque()
        self._pending = 0
        self._busy = False
        self._cond = threading.Condition()
        self._closing = False
        self._decoder: threading.Thread | None = None
        self._session: ClientSession | None = None
        self._sock: socket.socket | None = None
        self._stopped = False  # stop() was called: a late serve() does nothing
        self._serving = threading.Lock()  # serve() starts its thread, or stop() sees none: never between the two

    @property
    def url(self) -> str:
        """Where the trace port listens (the real port once bound)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, serve: bool = True) -> None:
        """Bind and serve; TraceProxyError with a one-line reason if the port cannot be had.

        `serve=False` only binds: the port is ours (a busy one is still an error now), connections wait in its
        backlog, and `serve()` later loads aiohttp and answers them (the screen does so after its first frame)."""
        self._sock = self._bind()
        self._decoder = threading.Thread(target=self._decode_loop, name="tundra-trace-decode", daemon=True)
        self._decoder.start()
        if serve:
            self.serve()

    def serve(self) -> None:
        """Answer on the bound port; TraceProxyError (the port closed) if the server cannot start."""
        with self._serving:
            if self._thread is not None or self._sock is None or self._stopped:
                return
            self._thread = threading.Thread(target=self._serve, name="tundra-traces", daemon=True)
            self._thread.start()
        self._started.wait(30)
        if self._start_error is not None:
            self.stop()
            raise TraceProxyError(self._start_error)

    def _bind(self) -> socket.socket:
        """The listening socket, bound here so a busy port is an error the caller sees at once."""
        try:
            family = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)[0][0]
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as exc:
            raise TraceProxyError(f"cannot listen for traces on {self.url}: {exc.strerror or exc}") from None
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart while old connections linger
            sock.bind((self.host, self.port))
            sock.listen(128)
        except OSError as exc:
            sock.close()
            raise TraceProxyError(f"cannot listen for traces on {self.url}: {exc.strerror or exc}") from None
        self.port = sock.getsockname()[1]
        return sock

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._stop_async = asyncio.Event()
        self._loop = loop  # after the event: stop() signals through both or, seeing neither, relies on _stopped
        try:
            loop.run_until_complete(self._main())
        except Exception as exc:  # anything that stops the server before it serves is a start error
            self._start_error = f"trace port on {self.url} failed: {type(exc).__name__}: {exc}"
        finally:
            loop.close()
            assert self._sock is not None
            self._sock.close()  # the server closed it, unless it failed before taking it
            self._started.set()

    async def _main(self) -> None:
        from aiohttp import ClientSession, ClientTimeout, TCPConnector, web

        app = web.Application(client_max_size=MAX_AGENT_REQUEST_BYTES)  # the real bound is _read's
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # bodies as sent: a gzipped upload goes on gzipped (aiohttp would inflate it under its gzip header)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, auto_decompress=False)
        await runner.setup()
        try:
            assert self._sock is not None
            await web.SockSite(runner, self._sock).start()
            if self.forward:
                self._session = ClientSession(
                    connector=TCPConnector(limit=64), auto_decompress=False,
                    timeout=ClientTimeout(total=self.timeout_s, connect=min(self.timeout_s, 5.0)),
                    skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"))
            self._started.set()
            if not self._stopped:  # a stop() while this started (a quick quit) may have found no loop to signal
                assert self._stop_async is not None
                await self._stop_async.wait()
        finally:
            if self._session is not None:
                await self._session.close()
            await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        try:
            return await self._handle_one(request)
        except Exception as exc:  # our own bug: counted and answered, never a traceback over the screen
            self.book.note_dropped(1, f"{request.path}: internal error {type(exc).__name__}")
            return web.Response(status=500, text="tundra: internal error\n")

    async def _handle_one(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        self.requests += 1
        try:
            body = await self._read(request)
        except ConnectionError:  # the app went away mid-body: nobody to answer, nothing whole to decode
            return web.Response(status=400)
        if body is None:
            self.book.note_dropped(1, f"{request.path}: body over {self.max_request_bytes} bytes")
            return web.Response(status=413, text="request body too large\n")
        if endpoint(request.path):  # queued (or counted dropped) before any answer: an answered body is counted
            self._enqueue(request.path, body, request.headers.get("Content-Type", ""),
                          request.headers.get("Content-Encoding", ""))
        response = await (self._relay(request, body) if self.forward else self._answer(request))
        try:
            await response.prepare(request)
            await response.write_eof()
        except ConnectionError:
            pass  # it hung up before reading the answer; what it sent is still decoded
        if self.forward and request.path == "/info" and response.status == 200:
            self._adopt_limit(response.body)
        return response

    async def _read(self, request: web.Request) -> bytes | None:
        """The body, or None past `max_request_bytes` (read as it arrives: the bound may change at run time)."""
        limit = self.max_request_bytes
        if request.content_length is not None and request.content_length > limit:
            return None
        body = bytearray()
        async for chunk in request.content.iter_chunked(1 << 16):
            body += chunk
            if len(body) > limit:
                return None
        return bytes(body)

    def _adopt_limit(self, info: object) -> None:
        """Take the Agent's own `max_request_bytes` from the /info it answered: tundra then refuses what it would."""
        try:
            value = json.loads(info)["config"]["max_request_bytes"]  # type: ignore[arg-type]
        except (TypeError, ValueError, KeyError):
            return
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_AGENT_REQUEST_BYTES:
            self.max_request_bytes = value

    async def _answer(self, request: web.Request) -> web.Response:
        from aiohttp import web

        path = request.path
        if path == "/info":
            return web.json_response(agent_info(self.port, self.max_request_bytes))
        kind = endpoint(path)
        if kind in ("v0.4", "v0.5") and request.method in ("POST", "PUT"):
            return web.json_response({"rate_by_service": {}})
        if path.startswith(("/evp_proxy/v2/", "/evp_proxy/v4/", "/telemetry/proxy/")):
            return web.Response(status=202)
        return web.Response(status=404, text="404 page not found\n")

    async def _relay(self, request: web.Request, body: bytes) -> web.Response:
        from aiohttp import ClientError, web
        from multidict import CIMultiDict
        from yarl import URL

        assert self._session is not None and self.forward is not None
        drop = _NOT_RELAYED | _listed(request.headers.get("Connection", ""))
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in drop)
        url = URL(self.forward + request.raw_path, encoded=True)
        try:
            async with self._session.request(request.method, url, headers=headers, data=body or None,
                                             allow_redirects=False) as up:
                payload = await up.read()
                back = _listed(up.headers.get("Connection", "")) | HOP_BY_HOP | {"content-length"}
                out = CIMultiDict((k, v) for k, v in up.headers.items() if k.lower() not in back)
                return web.Response(status=up.status, reason=up.reason, headers=out, body=payload)
        except (ClientError, OSError, TimeoutError) as exc:
            reason = type(exc).__name__ if isinstance(exc, TimeoutError) else str(exc) or type(exc).__name__
            self.book.note_forward_error(f"{request.method} {request.path} -> {self.forward}: {reason}")
            return web.Response(status=502, text=f"tundra: the Agent at {self.forward} did not answer\n")

    # -- decoding, off the request path ---------------------------------------------------
    def _enqueue(self, path: str, body: bytes, ctype: str, cenc: str) -> None:
        with self._cond:
            if self._pending + len(body) > MAX_PENDING_BYTES:
                self.book.note_dropped(1, f"{path}: decoder behind by {self._pending} bytes")
                return
            self._pending += len(body)
            self._queue.append((path, body, ctype, cenc, time.time_ns()))
            self._cond.notify()

    def _decode_loop(self) -> None:
        while True:
            with self._cond:
                self._busy = False
                self._cond.notify_all()
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return
                path, body, ctype, cenc, ts = self._queue.popleft()
                self._pending -= len(body)
                self._busy = True
            try:
                new = self.book.add(decode(path, body, ctype, cenc))
                if new and self.on_spans is not None:
                    self.on_spans(new, ts)
            except Exception as exc:  # our own bug must not stop the port; the count says so
                self.book.note_dropped(1, f"{path}: internal error {type(exc).__name__}")

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until every body received so far is decoded; True if it was in time."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    def status(self) -> dict[str, Any]:
        """For the status bar: where the trace port is and what it does."""
        return {"traces": self.url, "traces_forward": self.forward}

    def stop(self) -> None:
        """Stop serving, then decode what was already received; idempotent."""
        with self._serving:
            self._stopped = True
            thread = self._thread
        loop, stop = self._loop, self._stop_async
        if loop is not None and stop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:
                pass  # the loop closed meanwhile
        if thread is not None:
            thread.join(10)
        elif self._sock is not None:  # bound, never served: nobody else closes it
            self._sock.close()
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._decoder is not None:
            self._decoder.join(10)


def _listed(connection: str) -> set[str]:
    """Header names a `Connection:` header makes hop-by-hop."""
    return {t.strip().lower() for t in connection.split(",") if t.strip()}
