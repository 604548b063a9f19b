"""Every Redis key layout of Churnwatch, and the adapters that read and write them."""
