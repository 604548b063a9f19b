"""``churnwatch bench``: throughput of raw aiokafka, a Faust no-op and the pipeline; latency; Redis bytes."""
