"""Contract version: the major number on any breaking change, the minor one on additions.

1.1: dead letters gained `key_mismatch` and `implausible_time` reasons and the key-size and
pseudonymised flags; `event_time` is read as RFC 3339 text only (as documented since 1.0).
1.2: `score_source` gained `blend` (the hand-over from rules to model); `churn.training`
carries `TrainingExample` and `ResolvedDay` records.
1.3: `CapacityDay` summaries on `retention.capacity` (the optional daily contact capacity).
1.4: lifecycle records gain the `profile` kind and the optional `activated_on`,
`commitment_months`, `monthly_fee` and `bundled_services` fields (who the customer is).
"""

from __future__ import annotations

SCHEMA_VERSION = "1.4.0"
