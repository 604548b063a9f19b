"""The one settings tree: environment variables with the ``CHURNWATCH_`` prefix, ``__`` for nesting.

Built once at start-up (``Settings()``) and passed down in parts; nothing else reads
the environment. Defaults suit the embedded stack; production overrides them, e.g.
``CHURNWATCH_KAFKA__BOOTSTRAP=kafka-1:9092`` or ``CHURNWATCH_KAFKA__SESSION_TIMEOUT_S=30``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from features.config import FeatureConfig
from models.config import ScoringConfig
from policy.config import PolicyConfig

DEVELOPMENT_PSEUDONYM_KEY = "churnwatch-development-key-not-for-production"


class KafkaSettings(BaseModel):
    """Broker connection and consumer-group timing (embedded defaults join in ~2.5 s)."""

    model_config = ConfigDict(frozen=True)

    bootstrap: str | None = None  # None: start the embedded broker
    session_timeout_s: Annotated[float, Field(gt=0)] = 2.0
    heartbeat_interval_s: Annotated[float, Field(gt=0)] = 0.5
    rebalance_timeout_s: Annotated[float, Field(gt=0)] = 4.0
    commit_interval_s: Annotated[float, Field(gt=0)] = 1.0
    max_fetch_bytes: Annotated[int, Field(gt=0)] = 4 * 1024 * 1024
    max_poll_records: Annotated[int, Field(gt=0)] = 2000
    # largest output record the producer sends; keep it at or below the broker's message.max.bytes
    max_request_bytes: Annotated[int, Field(gt=0)] = 1024 * 1024


class TopicSettings(BaseModel):
    """Topic names and layout; the four input topics are co-partitioned by customer id."""

    model_config = ConfigDict(frozen=True)

    calls: str = "telco.calls"
    topups: str = "telco.topups"
    complaints: str = "telco.complaints"
    lifecycle: str = "telco.lifecycle"
    alerts: str = "retention.alerts"
    predictions: str = "churn.predictions"
    training: str = "churn.training"
    dead_letters: str = "churn.dlq"
    capacity: str = "retention.capacity"  # daily capacity summaries (unless the capacity is off)
    partitions: Annotated[int, Field(ge=1)] = 4
    replicas: Annotated[int, Field(ge=1)] = 1


class BatchSettings(BaseModel):
    """How many records an agent takes at once, and how long it waits to fill a batch."""

    model_config = ConfigDict(frozen=True)

    max_records: Annotated[int, Field(ge=1)] = 1000
    within_s: Annotated[float, Field(gt=0)] = 0.1
    stream_buffer_maxsize: Annotated[int, Field(ge=1)] = 8192
    max_record_bytes: Annotated[int, Field(ge=256)] = 64 * 1024
    # how often a worker re-checks for ticks completed by a partition catching up
    drain_interval_s: Annotated[float, Field(gt=0)] = 0.2
    # cap on the records one worker takes in per second (0: no cap), see pipeline/throttle.py
    max_records_per_second: Annotated[float, Field(ge=0)] = 0.0
    # a group's consecutive released ticks of one event-time day run as one step (one feature
    # round trip, one commit) of at most this many ticks and, past its first tick, this many
    # events. 1 (the default): every tick is its own step. More is much cheaper for a backfill,
    # but a crash between a run's feature update and its commit redoes that run's ticks from
    # the features after the whole run: its alerts may differ from an uninterrupted run's
    max_run_ticks: Annotated[int, Field(ge=1)] = 1
    max_run_events: Annotated[int, Field(ge=1)] = 5000


class RedisSettings(BaseModel):
    """How long one Redis call may take, and how long Redis may stay away before the worker exits."""

    model_config = ConfigDict(frozen=True)

    # a frozen or unreachable server surfaces as an error after this, never as a hang
    timeout_s: Annotated[float, Field(gt=0)] = 5.0
    # unreachable longer than this: the worker exits cleanly (a restart continues exactly)
    max_outage_s: Annotated[float, Field(gt=0)] = 300.0
    # how often a running worker checks that Redis still holds its data (marker and progress)
    check_interval_s: Annotated[float, Field(gt=0)] = 2.0


class OutOfOrderness(BaseModel):
    """Per input topic, how long after its event time a record may be sent and still be on time.

    A caught-up partition with nothing new holds its group's ticks back only this far behind
    the group's event time, so live ticks wait no longer on a quiet topic. A record sent
    later than this may find its tick already scored: it is then applied, with its own event
    time, in the group's next tick, and ``churnwatch_events_late`` counts it.
    """

    model_config = ConfigDict(frozen=True)

    calls_s: Annotated[float, Field(ge=0)] = 10.0
    topups_s: Annotated[float, Field(ge=0)] = 10.0
    complaints_s: Annotated[float, Field(ge=0)] = 10.0
    lifecycle_s: Annotated[float, Field(ge=0)] = 10.0


class EventTimeSettings(BaseModel):
    """Which event times are plausible, and how far behind its group a quiet partition may be.

    An event is rejected as ``implausible_time`` when it lies outside ``earliest``..``latest``,
    or more than ``max_ahead_hours`` ahead of both its partition's effective time and the
    record's own broker timestamp (an event cannot be sent long before it happens).
    """

    model_config = ConfigDict(frozen=True)

    earliest: AwareDatetime = datetime(2000, 1, 1, tzinfo=UTC)
    latest: AwareDatetime = datetime(2100, 1, 1, tzinfo=UTC)
    max_ahead_hours: Annotated[float, Field(gt=0)] = 24.0
    out_of_orderness: OutOfOrderness = OutOfOrderness()
    # a group whose partitions are all caught up and received nothing for this long (wall
    # clock) releases its last ticks: the end of a replay, or a pause in live traffic
    release_idle_s: Annotated[float, Field(gt=0)] = 2.0

    @property
    def max_ahead(self) -> timedelta:
        return timedelta(hours=self.max_ahead_hours)


class SnapshotSettings(BaseModel):
    """Daily snapshots: everyone active on an event-time day, and the silent at these thresholds.

    At the end of each event-time day a partition group scores the customers it saw that
    day and those whose silence (days without any event) just reached a threshold, with
    features aged to the day's end; the silent ones can raise alerts.
    """

    model_config = ConfigDict(frozen=True)

    silence_days: tuple[int, ...] = (3, 7, 14, 21, 30)
    # an active customer is snapshotted one day in N (staggered by customer); the silent
    # at every threshold. A snapshot is about 1 kB: N = 3 keeps ~330 B per customer per day
    active_every_days: Annotated[int, Field(ge=1)] = 3


class WorkerSettings(BaseModel):
    """Per-process identity: several workers on one host need their own web port and data dir."""

    model_config = ConfigDict(frozen=True)

    app_id: str = "churnwatch"  # also the consumer group
    web_host: str = "127.0.0.1"  # the address this worker advertises
    # the interface the web server listens on; any but loopback needs CHURNWATCH_WEB_TOKEN
    web_bind: str = "127.0.0.1"
    web_port: Annotated[int, Field(ge=0, le=65535)] = 6066
    data_dir: Path = Path("churnwatch-data")
    log_level: str = "WARNING"


class Settings(BaseSettings):
    """Everything configurable about a Churnwatch worker."""

    model_config = SettingsConfigDict(
        env_prefix="CHURNWATCH_", env_nested_delimiter="__", frozen=True, extra="ignore"
    )

    kafka: KafkaSettings = KafkaSettings()
    redis_url: str | None = None  # None: start an embedded Redis server
    redis_cluster: bool = False  # the URL points at one node of a Redis Cluster
    redis: RedisSettings = RedisSettings()
    kafka_bootstrap: str | None = None  # shorthand for kafka.bootstrap (CHURNWATCH_KAFKA_BOOTSTRAP)
    topics: TopicSettings = TopicSettings()
    batching: BatchSettings = BatchSettings()
    worker: WorkerSettings = WorkerSettings()
    features: FeatureConfig = FeatureConfig()
    scoring: ScoringConfig = ScoringConfig()
    policy: PolicyConfig = PolicyConfig()
    snapshots: SnapshotSettings = SnapshotSettings()
    allowed_lateness_days: Annotated[float, Field(ge=0)] = 3.0
    event_time: EventTimeSettings = EventTimeSettings()
    # features are applied and customers scored per event-time tick of this length
    scoring_tick_minutes: Annotated[float, Field(gt=0, le=1440)] = 60.0
    # how long (wall clock) a tick waits for its model version before an older one scores it
    model_version_wait_s: Annotated[float, Field(gt=0)] = 60.0
    pseudonym_key: SecretStr = SecretStr(DEVELOPMENT_PSEUDONYM_KEY)
    # the retention queue page's token (reading and recording outcomes); without one the
    # worker starts only when its web server listens on loopback, and the page is open there
    web_token: SecretStr | None = None
    default_currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "CNY"

    @property
    def bootstrap(self) -> str | None:
        """The broker address, whichever of the two spellings set it."""
        return self.kafka_bootstrap or self.kafka.bootstrap

    @property
    def allowed_lateness(self) -> timedelta:
        return timedelta(days=self.allowed_lateness_days)

    def out_of_orderness(self) -> dict[str, timedelta]:
        """Input topic name -> how long after its event time a record may be sent and be on time."""
        bounds = self.event_time.out_of_orderness
        return {
            self.topics.calls: timedelta(seconds=bounds.calls_s),
            self.topics.topups: timedelta(seconds=bounds.topups_s),
            self.topics.complaints: timedelta(seconds=bounds.complaints_s),
            self.topics.lifecycle: timedelta(seconds=bounds.lifecycle_s),
        }

    @property
    def uses_development_key(self) -> bool:
        return self.pseudonym_key.get_secret_value() == DEVELOPMENT_PSEUDONYM_KEY
