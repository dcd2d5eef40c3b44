"""The worker's Redis connection: a real server by ``REDIS_URL``, or the embedded broker inside ``hewston up``.

arq's worker logs the server's ``INFO`` once at start-up (``arq.connections.log_redis_info``, the only INFO
arq sends), and the embedded broker (fakeredis) has no INFO command. Rather than patching arq, the embedded
connection's pipelines mark INFO with redis-py's own ``EMPTY_RESPONSE`` option: when the broker answers
"unknown command", the pipeline returns an empty INFO instead of raising, and arq logs ``redis_version=?``.
A real server answers INFO as usual, and nothing else is changed.
"""

from __future__ import annotations

from typing import Any

from arq.connections import ArqRedis, RedisSettings, create_pool
from redis.asyncio.client import Pipeline
from redis.client import EMPTY_RESPONSE

from common.keys import KeySpace
from common.prewarm_queue import deserialize_job, serialize_job
from common.redis_client import create_redis


class _EmbeddedPipeline(Pipeline):
    def info(self, section: str | None = None, *args: Any, **kwargs: Any) -> Any:
        return super().info(section, *args, **{EMPTY_RESPONSE: {}, **kwargs})


class EmbeddedArqRedis(ArqRedis):
    """arq's client on the embedded broker; only INFO in a pipeline behaves differently (see above)."""

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        return _EmbeddedPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)


def embedded_pool(keys: KeySpace) -> ArqRedis:
    """arq's client on this process's embedded broker, which the api and every other role here share."""
    return EmbeddedArqRedis(pool_or_conn=create_redis(None).connection_pool, job_serializer=serialize_job,
                            job_deserializer=deserialize_job, default_queue_name=keys.prewarm_queue())


def redis_settings(url: str) -> RedisSettings:
    return RedisSettings.from_dsn(url)


async def server_pool(url: str, keys: KeySpace) -> ArqRedis:
    """arq's client on the Redis server at ``url`` (retried a few times while it starts)."""
    return await create_pool(redis_settings(url), job_serializer=serialize_job, job_deserializer=deserialize_job,
                             default_queue_name=keys.prewarm_queue())
