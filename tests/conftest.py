"""Shared fixtures live in tests/fixtures/, one module per concern."""

pytest_plugins = [
    "tests.fixtures.deadline",
    "tests.fixtures.redis",
    "tests.fixtures.kafka",
    "tests.fixtures.scenario",
    "tests.fixtures.browser",
]
