"""Loading: reading a run's files and topics (truth, alerts, snapshots, training examples, events)."""
