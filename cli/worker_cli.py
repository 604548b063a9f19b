"""``churnwatch worker``: run one worker against the configured (or embedded) Kafka and Redis."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import faust
import typer
import uvloop

from agents.worker import build_worker
from stack.embedded import running_stack
from stack.state import NO_BROKER_FIX, broker_answers, redis_answers, resolve
from stack.topics import ensure_topics, partition_counts
from streams.settings import Settings
from web.access import exposure_problem

log = logging.getLogger(__name__)


async def ensure_training_topic(bootstrap: str, settings: Settings) -> None:
    """Create the training topic with one partition, and refuse one with more: a single logical
    learner reads it whole, and Kafka gives each partition to one worker of the group."""
    name = settings.topics.training
    await ensure_topics(bootstrap, [name], 1, settings.topics.replicas)
    found = (await partition_counts(bootstrap, [name])).get(name, 1)
    if found != 1:
        raise typer.Exit(
            _refuse(
                f"topic {name} has {found} partitions; the learner needs exactly 1 "
                f"(recreate it with one partition)"
            )
        )


def _refuse(message: str) -> int:
    log.error("%s", message)
    typer.echo(message, err=True)
    return 2


def worker() -> None:
    """Consume the input topics and publish alerts until stopped (Ctrl-C or SIGTERM)."""
    settings = Settings()
    exposed = exposure_problem(settings.worker.web_bind, settings.web_token)
    if exposed is not None:
        raise typer.Exit(_refuse(exposed))
    if settings.uses_development_key:
        log.warning("CHURNWATCH_PSEUDONYM_KEY is not set: using the development key")
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    addresses = resolve(settings.bootstrap, settings.redis_url)
    if addresses.kafka_bootstrap is not None and not broker_answers(addresses.kafka_bootstrap):
        unreachable = f"cannot reach the broker at {addresses.kafka_bootstrap} ({addresses.source})"
        raise typer.Exit(_refuse(f"{unreachable}: {NO_BROKER_FIX}"))
    if addresses.redis_url is not None and not redis_answers(addresses.redis_url):
        raise typer.Exit(
            _refuse(
                f"cannot reach Redis at {addresses.redis_url} ({addresses.source}): "
                "set CHURNWATCH_REDIS_URL, or run `churnwatch stack up` in this directory"
            )
        )
    if addresses.kafka_bootstrap is not None or addresses.redis_url is not None:
        typer.echo(addresses.describe())
    with running_stack(
        Path(settings.worker.data_dir) / "stack", addresses.kafka_bootstrap, addresses.redis_url
    ) as stack:
        if stack.children:
            typer.echo(f"embedded stack: kafka {stack.kafka_bootstrap}, redis {stack.redis_url}")
        asyncio.run(ensure_training_topic(stack.kafka_bootstrap, settings))
        built = build_worker(settings, stack.kafka_bootstrap, stack.redis_url)
        faust.Worker(
            built.app, loglevel=settings.worker.log_level, quiet=True, loop=asyncio.new_event_loop()
        ).execute_from_commandline()
