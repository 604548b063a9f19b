"""The application: takes validated batches, releases ticks in event time, processes, records, acks."""
