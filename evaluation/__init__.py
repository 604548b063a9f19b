"""Judging the product's output against ground truth: the simulator's or an operator's churn list."""
