"""The simulator's entry points: a stream of event dicts, or JSON Lines files plus truth.csv.

Generation runs day by day: draw the day's events as arrays, give them arrival times,
release what arrives that day in arrival order, encode chunk by chunk. Peak memory is the
population's traits plus one day of rows, whatever the number of days.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from sim.config import SimConfig
from sim.day import DayGenerator
from sim.disorder import ArrivalBuffer, add_disorder
from sim.encode import encode
from sim.errors import SimulationError
from sim.population import Population, build_population
from sim.table import EventTable

EVENTS_FILE = "events.jsonl"
TRUTH_FILE = "truth.csv"


class Simulation:
    """A seeded population and its event stream; iterate ``events()`` once or many times."""

    def __init__(
        self,
        customers: int,
        days: int,
        seed: int,
        start: datetime,
        config: SimConfig | None = None,
    ) -> None:
        if start.tzinfo is None:
            raise SimulationError(f"start={start.isoformat()}: needs a UTC offset")
        self.seed = seed
        self.days = days
        self.start = start.astimezone(UTC)
        self.config = config or SimConfig()
        self.population: Population = build_population(
            customers, days=days, seed=seed, start=self.start, config=self.config
        )
        self.event_id_prefix = f"s{seed}-"

    def tables(self) -> Iterator[EventTable]:
        """Arrival-ordered event rows, one table per day of arrival (then the stragglers)."""
        generator = DayGenerator(self.population, self.seed)
        buffer = ArrivalBuffer()
        next_seq = 0
        for day in range(self.days):
            table = generator.generate(day)
            table.seq = np.arange(next_seq, next_seq + len(table), dtype=np.int64)
            next_seq += len(table)
            disorder_rng = np.random.default_rng([self.seed, 0xD15, day])
            table = add_disorder(table, self.config, disorder_rng)
            yield buffer.release(table, generator.day_start_s(day + 1))
        yield buffer.drain()

    def events(self) -> Iterator[dict[str, Any]]:
        """Event dicts in the JSON Lines shape (contract fields plus ``type``), arrival order."""
        plans = self.population.plans
        for table in self.tables():
            yield from encode(
                table,
                event_id_prefix=self.event_id_prefix,
                plans=plans,
                currency=self.config.currency,
            )

    def write(self, out_dir: Path, on_day: Callable[[int, int], None] | None = None) -> SimulationSummary:
        """Write ``events.jsonl`` (arrival order) and ``truth.csv`` into ``out_dir``.

        ``on_day(days_done, events_so_far)`` is called after each day, for progress display.
        Lines are written one by one: holding a day of encoded lines would cost more memory
        than the whole population.
        """
        out_dir.mkdir(parents=True, exist_ok=True)
        self.population.write_truth(out_dir / TRUTH_FILE)
        summary = SimulationSummary(customers=self.population.size, days=self.days)
        began = time.perf_counter()
        dumps = orjson.dumps
        newline = orjson.OPT_APPEND_NEWLINE
        with (out_dir / EVENTS_FILE).open("wb", buffering=1 << 20) as handle:
            plans = self.population.plans
            for day, table in enumerate(self.tables()):
                write = handle.write
                for event in encode(
                    table, event_id_prefix=self.event_id_prefix, plans=plans, currency=self.config.currency
                ):
                    write(dumps(event, option=newline))
                summary.count_kinds(table)
                if on_day is not None:
                    on_day(min(day + 1, self.days), summary.events)
        summary.elapsed_s = time.perf_counter() - began
        return summary


@dataclass(slots=True)
class SimulationSummary:
    """What a run wrote: counts per event type and throughput."""

    customers: int
    days: int
    per_type: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0

    @property
    def events(self) -> int:
        return sum(self.per_type.values())

    @property
    def events_per_s(self) -> float:
        return self.events / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def events_per_customer_day(self) -> float:
        return self.events / (self.customers * self.days)

    def count_kinds(self, table: EventTable) -> None:
        """Add a table's rows to the per-type counts."""
        counts = np.bincount(table.kind, minlength=4)
        for name, count in zip(("call", "topup", "complaint", "lifecycle"), counts, strict=True):
            self.per_type[name] += int(count)


def simulate(
    customers: int,
    days: int,
    seed: int,
    start: datetime,
    config: SimConfig | None = None,
) -> Iterator[dict[str, Any]]:
    """Events of a seeded population, in arrival order with bounded disorder and duplicates.

    >>> events = list(simulate(5, 2, seed=1, start=datetime(2026, 1, 5, tzinfo=UTC)))
    >>> events[0]["type"], events[0]["kind"]
    ('lifecycle', 'profile')
    """
    return Simulation(customers, days, seed, start, config).events()
