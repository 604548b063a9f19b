"""``churnwatch rebuild``: rebuild the features after Redis lost its data (every worker stopped)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from pipeline.rebuild import RebuildReport
from pipeline.rebuild import rebuild as rebuild_state
from store.client import connect_redis
from streams.errors import GroupBusyError
from streams.settings import Settings


def rebuild(
    yes: Annotated[bool, typer.Option("--yes", help="do it without asking")] = False,
) -> None:
    """Delete the key prefix's state, replay the input topics from their retained start.

    Stop every worker of the consumer group first; start them again afterwards.
    """
    settings = Settings()
    if settings.bootstrap is None or settings.redis_url is None:
        typer.echo("set CHURNWATCH_KAFKA_BOOTSTRAP and CHURNWATCH_REDIS_URL to the deployment to rebuild")
        raise typer.Exit(2)
    group, prefix = settings.worker.app_id, settings.features.key_prefix
    if not yes:
        typer.confirm(
            f"Delete every Redis key under '{prefix}:' and replay the inputs of group '{group}' "
            "from their start?",
            abort=True,
        )
    topics = settings.topics
    inputs = [topics.calls, topics.topups, topics.complaints, topics.lifecycle]

    async def run() -> RebuildReport:
        redis = connect_redis(settings.redis_url or "", settings.redis_cluster, settings.redis.timeout_s)
        try:
            return await rebuild_state(
                redis, prefix, settings.bootstrap or "", group, inputs, topics.training
            )
        finally:
            await redis.aclose()

    try:
        report = asyncio.run(run())
    except GroupBusyError as error:
        typer.echo(f"not rebuilt: {error}")
        raise typer.Exit(1) from error
    typer.echo(
        f"deleted {report.keys_deleted} keys under '{prefix}:', reset {report.partitions_reset} "
        f"partitions of group '{group}' to their earliest records; start the workers to replay"
    )
