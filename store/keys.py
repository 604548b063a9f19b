"""Hash tags of Redis keys: a customer's, and a partition group's.

Every key names its Cluster slot through a hash tag, so each script call and each
pipeline part touches one slot: a customer's keys (features, alert state, alert and
score history, contact outcomes) share ``{customer_id}``; a partition group's keys
(progress, outbox, capacity, activity index, pending labels, churn times, day queues)
share ``{consumer_group/pN}``. The key formats are written here once.
"""

from __future__ import annotations

import hashlib


def customer_tag(customer_id: str) -> str:
    """The Cluster hash tag of everything stored about a customer (escaped if it has braces).

    Customer ids that contain ``{`` or ``}`` are replaced by ``#`` plus 32 hex digits of
    their SHA-256, so the tag stays well formed.

    >>> customer_tag("c42")
    '{c42}'
    >>> customer_tag("a{b}")
    '{#b8a4b706093b9c712e002b1b283c0486}'
    """
    if "{" in customer_id or "}" in customer_id:
        customer_id = "#" + hashlib.sha256(customer_id.encode()).hexdigest()[:32]
    return f"{{{customer_id}}}"


def customer_key(prefix: str, customer_id: str, suffix: str) -> str:
    """A key of one customer: ``{prefix}:{customer}:{suffix}``.

    >>> customer_key("cw", "c42", "f")
    'cw:{c42}:f'
    """
    return f"{prefix}:{customer_tag(customer_id)}:{suffix}"


def group_key(prefix: str, consumer_group: str, partition: int, suffix: str) -> str:
    """A key of one partition group of a consumer group: ``{prefix}:{group/pN}:{suffix}``.

    >>> group_key("cw", "churnwatch", 3, "progress")
    'cw:{churnwatch/p3}:progress'
    """
    return f"{prefix}:{{{consumer_group}/p{partition}}}:{suffix}"


def consumer_group_key(prefix: str, consumer_group: str, suffix: str) -> str:
    """A key of a whole consumer group (its marker, its model checkpoints).

    >>> consumer_group_key("cw", "churnwatch", "marker")
    'cw:{churnwatch}:marker'
    >>> consumer_group_key("cw", "churnwatch/model", "learner")
    'cw:{churnwatch/model}:learner'
    """
    return f"{prefix}:{{{consumer_group}}}:{suffix}"
