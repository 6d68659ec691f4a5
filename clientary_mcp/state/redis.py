"""The state store on Redis (`CLIENTARY_MCP_REDIS_URL`): one store for every replica of the service.

Each operation is one round trip: claims are `SET NX PX`; the token bucket and the capped groups are Lua
scripts, so check-and-update is atomic across replicas, and they read the time from Redis (`TIME`) so
replicas whose clocks differ still share one bucket. Any failure to get an answer becomes
`StoreUnavailable`, whose message names the server by host and port only (a URL may carry a password).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from .store import StoreUnavailable

PREFIX = "clientary-mcp:"
# After a failure, answer "unavailable" at once for this long instead of waiting on every call for a
# server that does not answer (a black-holed address costs the connect timeout each time).
PAUSE = 1.0

# KEYS[1] bucket; ARGV rate (tokens/s), burst. Returns the wait in seconds as a string (0 = taken).
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local v = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(v[1]) or burst, tonumber(v[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""

# KEYS[1] group (a sorted set: member -> when it lapses); ARGV member, limit, ttl seconds. 1 = in, 0 = full.
_ENTER = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.ceil(ttl * 1000))
return 1
"""


def describe(url: str) -> str:
    """`redis at host:port` (or the socket path): what messages may say about a URL."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"redis at {parts.path}"
    return f"redis at {parts.hostname or 'localhost'}:{parts.port or 6379}"


class RedisStore:
    name = "redis"

    def __init__(self, url: str, *, timeout: float = 1.0, client: Any = None, pause: float = PAUSE) -> None:
        import redis.asyncio as aioredis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self.where = describe(url)
        self.pause = pause
        self._down_until = 0.0
        self._down_message = ""
        self._errors = (aioredis.RedisError, OSError)
        # One quick retry (a dropped pooled connection), then fail: callers fail closed rather than wait.
        self._redis = client or aioredis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 1),
            health_check_interval=0, decode_responses=True)
        self._take = self._redis.register_script(_TAKE)
        self._enter = self._redis.register_script(_ENTER)

    def __repr__(self) -> str:
        return f"RedisStore({self.where})"

    async def _run(self, what: str, op: Any) -> Any:
        if time.monotonic() < self._down_until:
            close = getattr(op, "close", None)
            if close is not None:
                close()  # the coroutine was never started
            raise StoreUnavailable(self._down_message)
        try:
            return await op
        except self._errors as exc:
            self._down_message = f"the state store ({self.where}) did not answer ({type(exc).__name__})"
            self._down_until = time.monotonic() + self.pause
            raise StoreUnavailable(self._down_message) from None

    async def claim(self, key: str, ttl: float) -> bool:
        done = await self._run("claim", self._redis.set(PREFIX + "claim:" + key, "1", nx=True,
                                                        px=max(1, int(ttl * 1000))))
        return bool(done)

    async def take(self, bucket: str, rate: float, burst: int) -> float:
        wait = await self._run("take", self._take(keys=[PREFIX + "bucket:" + bucket], args=[repr(rate), burst]))
        return float(wait)

    async def enter(self, group: str, member: str, limit: int, ttl: float) -> bool:
        done = await self._run("enter", self._enter(keys=[PREFIX + "group:" + group], args=[member, limit, repr(ttl)]))
        return int(done) == 1

    async def leave(self, group: str, member: str) -> None:
        await self._run("leave", self._redis.zrem(PREFIX + "group:" + group, member))

    async def check(self) -> None:
        await self._run("check", self._redis.ping())

    async def aclose(self) -> None:
        try:
            await self._redis.aclose()
        except self._errors:
            pass


__all__ = ["RedisStore", "describe"]
