"""Django's Redis cache, with one connection pool and one client per process.

Django keeps cache backends per asyncio context: under ASGI every request gets a fresh backend
object, so a fresh connection pool, so a new connection to Redis (connect, SELECT, redis-py's
CLIENT SETINFO) for each cache a request touches. On top of that Django builds a new
`redis.Redis` for every operation, and redis-py's constructor fills a table of ~170 response
callbacks each time. A signed-in page touches two caches (the session, the page cache), so both
showed: the cached lesson page served 80 requests/s where a bare page of the same size served 120.

A pool and the client over it are thread-safe, so the backends of one process share them.
"""

import threading

from django.core.cache.backends import redis as django_redis
from django.utils.functional import cached_property

_clients: dict = {}
_lock = threading.Lock()


class _Client(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._by_pool = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._by_pool.get(id(pool))
        if client is None:
            client = self._by_pool[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    @cached_property
    def _cache(self):
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        with _lock:
            if key not in _clients:
                _clients[key] = _Client(self._servers, **self._options)
            return _clients[key]
