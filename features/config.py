"""Settings of the feature store, composed by the lead into ``streams/settings.py``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FeatureConfig(BaseModel):
    """Feature store settings.

    ``duplicate_ring_size`` is how many applied ``event_id`` fingerprints each customer
    keeps: a duplicate is recognised while its original is among the customer's last
    that-many applied events. Each entry costs 12 bytes of Redis memory per customer
    (docs/features.md has the budget); 16 keeps a customer with full history under 1 KiB.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    key_prefix: str = Field(default="cw", min_length=1, max_length=32, pattern=r"^[^{}]+$")
    duplicate_ring_size: int = Field(default=16, ge=1, le=40)
