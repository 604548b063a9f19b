"""The prequential metrics at one moment, as checkpoints and the status page carry them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class CalibrationBin:
    """One score decile: its weight, mean score and observed positive rate."""

    weight: float
    mean_score: float
    observed_rate: float


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """The metrics at one moment; ``None`` where a metric has no meaning yet (one class only).

    >>> snap = MetricsSnapshot(2, 2.0, 1.0, 1.0, 1.0, 0.0, 2.0, ())
    >>> MetricsSnapshot.from_dict(snap.to_dict()) == snap, snap.base_rate
    (True, 0.5)
    """

    examples: int
    weight: float
    positive_weight: float
    roc_auc: float | None
    pr_auc: float | None
    log_loss: float | None
    lift_top_decile: float | None
    calibration: tuple[CalibrationBin, ...]

    @property
    def base_rate(self) -> float | None:
        """Positive weight over all weight; None before any example."""
        return self.positive_weight / self.weight if self.weight > 0 else None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only (undefined metrics are ``None``, i.e. JSON null)."""
        return {
            "examples": self.examples,
            "weight": self.weight,
            "positive_weight": self.positive_weight,
            "roc_auc": self.roc_auc,
            "pr_auc": self.pr_auc,
            "log_loss": self.log_loss,
            "lift_top_decile": self.lift_top_decile,
            "calibration": [
                {"weight": b.weight, "mean_score": b.mean_score, "observed_rate": b.observed_rate}
                for b in self.calibration
            ],
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> MetricsSnapshot:
        """The inverse of ``to_dict`` (for example after a JSON round trip)."""

        def optional(name: str) -> float | None:
            value = values[name]
            return None if value is None else float(value)

        return cls(
            examples=int(values["examples"]),
            weight=float(values["weight"]),
            positive_weight=float(values["positive_weight"]),
            roc_auc=optional("roc_auc"),
            pr_auc=optional("pr_auc"),
            log_loss=optional("log_loss"),
            lift_top_decile=optional("lift_top_decile"),
            calibration=tuple(
                CalibrationBin(float(b["weight"]), float(b["mean_score"]), float(b["observed_rate"]))
                for b in values["calibration"]
            ),
        )
