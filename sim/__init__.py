"""Synthetic telecom population (``sim.simulate``) and historical replay (``sim.replay``).

Domain code: no Kafka client is imported here except in the named adapter
``sim.kafka_producer``; publishing goes through the ``sim.sink.EventSink`` protocol.
"""
