"""Async Clientary REST client: auth, JSON, retries, pagination, typed errors. Knows nothing of MCP."""

from __future__ import annotations

import base64
import contextlib
import functools
import json as _json
import random
import time
from contextvars import ContextVar
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator
from urllib.parse import quote, unquote

import anyio
import httpx

from .. import __version__
from ..config import Settings, redact
from . import errors, trace
from .errors import ClientaryError
from .pagination import EnvelopeError, Page, merge, pages_needed, parse_page, parse_unpaginated
from .retry import Gate, backoff, parse_retry_after

USER_AGENT = f"clientary-mcp/{__version__} (+https://github.com/clientary-mcp)"

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Failures of a read that are worth another try.
_READ_RETRYABLE = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
# Failures that happen before any byte of the request left: a write can be repeated safely.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Failures raised before a connection is even attempted.
_NEVER_SENT = _NOT_SENT + (httpx.UnsupportedProtocol,)
# The largest response body read (after decompression); Clientary's biggest pages are far below it.
MAX_RESPONSE_BYTES = 16 << 20


# A limit shared by every request made inside `ClientaryClient.one_job()`, however the job nests its reads.
_job_limit: ContextVar[anyio.CapacityLimiter | None] = ContextVar("clientary_job_limit", default=None)


def _redacting(method):
    """Scrub the token from any error leaving a public method (server text may echo it)."""

    @functools.wraps(method)
    async def wrapper(self: "ClientaryClient", *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(self, *args, **kwargs)
        except ClientaryError as err:
            err.redact(self._secrets)
            raise

    return wrapper


def _envelope(parse: Callable[..., Page], path: str, data: Any, *args: Any) -> Page:
    try:
        return parse(data, *args)
    except EnvelopeError as exc:
        raise errors.bad_response("GET", path, str(exc), status=200) from None


class ClientaryClient:
    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[object]] | None = None,
        clock: Callable[[], float] | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.settings = settings
        self.max_response_bytes = max_response_bytes
        self._transport = transport
        self._sleep = sleep or anyio.sleep
        self._clock = clock or time.monotonic
        self._gate = Gate(self._clock, self._sleep)
        self._rng = random.Random()
        self._http: httpx.AsyncClient | None = None
        token = settings.api_token
        basic = base64.b64encode(f"{token}:{token}".encode()).decode()
        self._authorization = f"Basic {basic}"
        self._base_path = httpx.URL(settings.base_url).path.rstrip("/")
        # Also as they would appear in a URL (a Location header may echo the credentials).
        self._secrets = tuple(dict.fromkeys((token, basic, quote(token, safe=""), quote(basic, safe=""))))

    # ---- lifecycle ------------------------------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            token = self.settings.api_token
            self._http = httpx.AsyncClient(
                base_url=self.settings.base_url,
                auth=httpx.BasicAuth(token, token),
                headers={"Accept": "application/json", "User-Agent": USER_AGENT},
                timeout=httpx.Timeout(self.settings.timeout, connect=self.settings.connect_timeout),
                transport=self._transport,
                follow_redirects=False,  # a redirect would replay the body and credentials elsewhere
            )
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            http, self._http = self._http, None
            await http.aclose()

    async def __aenter__(self) -> "ClientaryClient":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # ---- public API ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def one_job(self) -> Iterator[None]:
        """Requests made inside (by any task started inside) share one limit of `page_concurrency` in flight,
        so a composite job that runs several list reads at once still stays within it."""
        if _job_limit.get() is not None:
            yield
            return
        token = _job_limit.set(anyio.CapacityLimiter(self.settings.page_concurrency))
        try:
            yield
        finally:
            _job_limit.reset(token)

    @_redacting
    async def request(self, method: str, path: str, *, params: dict | None = None, json: Any = None) -> Any:
        """Parsed JSON of a 2xx answer, or None for an empty body of a write."""
        method = method.upper()
        response = await self._send(method, path, params=params, json=json)
        return self._decode(response, method, path)

    @_redacting
    async def list_page(self, path: str, key: str, *, page: int = 1, params: dict | None = None) -> Page:
        if page < 1:
            raise ValueError("page numbers start at 1")
        data = await self.request("GET", path, params={**(params or {}), "page": page})
        return _envelope(parse_page, path, data, key, page)

    @_redacting
    async def list_all(
        self, path: str, key: str, *, params: dict | None = None, max_records: int | None = None
    ) -> Page:
        """Every page (pages after the first fetched concurrently), up to `max_records` records."""
        cap = self.settings.max_records if max_records is None else max_records
        if cap < 1:
            raise ValueError("max_records must be at least 1")
        first = await self.list_page(path, key, page=1, params=params)
        last = pages_needed(first, cap)
        pages = [first] + await self._fetch_pages(path, key, params, list(range(2, last + 1)))
        items, cut = merge(pages, cap)
        return Page(
            items,
            page=None,
            page_count=first.page_count,
            page_size=first.page_size,
            total_count=first.total_count,
            truncated=cut or last < (first.page_count or 1),
            pages_fetched=len(pages),
            extra=first.extra,
        )

    @_redacting
    async def list_unpaginated(self, path: str, key: str, *, params: dict | None = None) -> Page:
        data = await self.request("GET", path, params=params)
        return _envelope(parse_unpaginated, path, data, key)

    # ---- internals -------------------------------------------------------------------------------

    async def _fetch_pages(self, path: str, key: str, params: dict | None, numbers: list[int]) -> list[Page]:
        if not numbers:
            return []
        results: dict[int, Page] = {}
        failures: list[ClientaryError] = []
        queue = iter(numbers)  # shared by the workers: each page is taken exactly once

        async def worker() -> None:
            for number in queue:
                try:
                    page = await self.list_page(path, key, page=number, params=params)
                except ClientaryError as exc:
                    failures.append(exc)
                    tg.cancel_scope.cancel()
                    return
                results[number] = page
                if not page.items:  # past the last record, whatever page_count said: ask for no more pages
                    for _ in queue:
                        pass
                    return

        async with anyio.create_task_group() as tg:
            for _ in range(min(self.settings.page_concurrency, len(numbers))):
                tg.start_soon(worker)
        if failures:
            raise failures[0]
        return [results[n] for n in numbers if n in results]

    async def _send(self, method: str, path: str, *, params: dict | None, json: Any) -> httpx.Response:
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/': {path!r}")
        if params:
            params = {k: v for k, v in params.items() if v is not None}
        safe = method in _SAFE_METHODS
        http = self._client()
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            await self._gate.wait()
            t0 = time.perf_counter()
            response: httpx.Response | None = None
            retry_after: float | None = None
            try:
                async with _limit():
                    response = await self._fetch(http, method, path, params, json)
            except httpx.TransportError as exc:
                trace.add(method, path, None, (time.perf_counter() - t0) * 1000, attempt)
                if not safe and not isinstance(exc, _NEVER_SENT):
                    raise self._unknown_outcome(exc, method, path, attempt) from exc
                retryable = isinstance(exc, _READ_RETRYABLE if safe else _NOT_SENT)
                failure: Any = exc
            else:
                trace.add(method, path, response.status_code, (time.perf_counter() - t0) * 1000, attempt)
                status = response.status_code
                if status < 300:
                    return response
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                response = self._scrubbed(response)  # before any excerpt is cut from it
                if not safe and status >= 500:
                    said = errors.snippet(response.text, 120)
                    cause = f"Clientary answered HTTP {status}" + (f" ({said})" if said else "")
                    raise errors.unknown_outcome(method, path, cause, status=status, attempts=attempt)
                retryable = status == 429 or (safe and status >= 500)
                failure = response

            if retryable and attempt <= self.settings.max_retries:
                own = retry_after if retry_after is not None else backoff(attempt, self._rng)
                delay = max(own, self._gate.remaining())
                if self._clock() - started + delay <= self.settings.retry_budget:
                    if response is not None and response.status_code == 429:
                        self._gate.hold(delay)  # everyone waits, this request included (at loop top)
                    else:
                        await self._sleep(own)  # any longer shared pause is waited out at loop top
                    continue

            if isinstance(failure, httpx.Response):
                raise errors.from_status(failure, method, path, attempts=attempt, retry_after=retry_after)
            raise errors.from_transport(
                failure, method, path, attempts=attempt, server=self.settings.base_url
            ) from failure

    async def _fetch(self, http: httpx.AsyncClient, method: str, path: str, params: dict | None,
                     json: Any) -> httpx.Response:
        """Send, and read the body only up to `max_response_bytes` (a hostile or broken server could send
        anything)."""
        # An in-process server (the sandbox) may answer without httpx on either side.
        direct = getattr(self._transport, "exchange", None)
        if direct is not None:
            answer = self._exchange(direct, method, path, params, json)
            if answer is not None:
                return answer
        request = http.build_request(method, path, params=params or None, json=json)
        response = await http.send(request, stream=True)
        try:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.max_response_bytes:
                    raise self._too_large(method, path, response.status_code)
                chunks.append(chunk)
        finally:
            await response.aclose()
        # Already decoded: the copy must not claim an encoding (or a length) its body no longer has.
        headers = [(k, v) for k, v in response.headers.multi_items()
                   if k.lower() not in ("content-encoding", "content-length")]
        return httpx.Response(response.status_code, headers=headers, content=b"".join(chunks), request=request,
                              extensions=response.extensions)

    def _exchange(self, direct: Callable[..., tuple[int, list[tuple[str, str]], bytes] | None], method: str,
                  path: str, params: dict | None, json: Any) -> httpx.Response | None:
        """The request handed to an in-process server as plain values, encoded as httpx would encode them
        (the same headers, query and JSON body), or None if it wants the request sent through httpx."""
        query = [(k, _query_text(v)) for k, value in (params or {}).items()
                 for v in (value if isinstance(value, (list, tuple)) else (value,))]
        body = b"" if json is None else _json.dumps(json, ensure_ascii=False, separators=(",", ":"),
                                                    allow_nan=False).encode()
        answer = direct(method, unquote(self._base_path + path), query, body, self._authorization)
        if answer is None:
            return None
        status, headers, content = answer
        if len(content) > self.max_response_bytes:
            raise self._too_large(method, path, status)
        return httpx.Response(status, headers=headers, content=content)

    def _too_large(self, method: str, path: str, status: int) -> ClientaryError:
        return errors.bad_response(method, path, f"the body is larger than {self.max_response_bytes} bytes, "
                                   "more than any Clientary answer", status=status,
                                   write=method not in _SAFE_METHODS)

    def _scrubbed(self, response: httpx.Response) -> httpx.Response:
        """The failed response with our credentials blanked in its body and headers, so an excerpt cut
        from it later cannot hold a part of a secret that the exact-match scrub would miss."""
        text = response.text
        clean_text = redact(text, self._secrets)
        headers = [(k, redact(v, self._secrets)) for k, v in response.headers.multi_items()
                   if k.lower() != "content-length"]
        if clean_text == text and headers == [(k, v) for k, v in response.headers.multi_items()
                                              if k.lower() != "content-length"]:
            return response
        body = clean_text.encode(response.encoding or "utf-8", errors="replace")
        return httpx.Response(response.status_code, headers=headers, content=body)

    @staticmethod
    def _unknown_outcome(exc: httpx.TransportError, method: str, path: str, attempt: int) -> ClientaryError:
        if isinstance(exc, httpx.TimeoutException):
            cause = f"the request was sent but no answer came in time ({type(exc).__name__})"
        else:
            cause = f"the connection failed after the request was sent ({type(exc).__name__})"
        return errors.unknown_outcome(method, path, cause, attempts=attempt)

    @staticmethod
    def _decode(response: httpx.Response, method: str, path: str) -> Any:
        status = response.status_code
        write = method not in _SAFE_METHODS
        if not response.content.strip():
            if write:
                return None
            raise errors.bad_response(method, path, "the body was empty where JSON was expected", status=status)
        content_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if content_type and "json" not in content_type:
            problem = f"expected JSON but got content type {content_type}"
        else:
            try:
                return response.json()
            except ValueError:
                problem = "the body is not valid JSON"
            except RecursionError:
                problem = "the JSON is nested too deeply to read"
        raise errors.bad_response(method, path, problem, status=status, body=response.text, write=write)


def _query_text(value: Any) -> str:
    """A query value as httpx writes it (JSON-style booleans)."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "" if value is None else str(value)


@contextlib.asynccontextmanager
async def _limit() -> AsyncIterator[None]:
    limiter = _job_limit.get()
    if limiter is None:
        yield
    else:
        async with limiter:
            yield


__all__ = ["ClientaryClient", "USER_AGENT"]
