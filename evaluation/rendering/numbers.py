"""How the report writes a number: a share as a percentage, a measure with fixed digits."""

from __future__ import annotations


def percent(share: float | None) -> str:
    """A share (0..1) as a percentage with one decimal.

    >>> percent(0.1234), percent(None)
    ('12.3%', '-')
    """
    return "-" if share is None else f"{100 * share:.1f}%"


def decimal(value: float | None, digits: int = 3) -> str:
    """A measure (ROC AUC, lift, days) with ``digits`` decimals.

    >>> decimal(0.71234), decimal(2.5, 1), decimal(None)
    ('0.712', '2.5', '-')
    """
    return "-" if value is None else f"{value:.{digits}f}"
