"""Measures: pure functions over what was read (warning quality, ranking, money, yardsticks)."""
