"""Queue workers: the pool that claims and runs batches, one batch's run against the provider,
and the heartbeat that reports workers and renews leases.
"""
