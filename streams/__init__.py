"""Kafka adapters: the Faust app, topics, readers, publisher and records; the settings tree and metrics."""
