"""The learner's wiring: a task of the Faust app that runs the training reader until the app stops."""

from __future__ import annotations

import faust

from streams.training_reader import TrainingReader


def register_learner(app: faust.App, reader: TrainingReader) -> None:
    """Run the learner beside the agents; an error in it stops the worker (restarted from commits)."""

    @app.task  # type: ignore[untyped-decorator]
    async def learn() -> None:
        """Read ``churn.training`` into the learner (wiring only)."""
        await reader.run(lambda: bool(app.should_stop))
