"""Articles: the service every front end writes and reads through, the input rules, slugs,
the result models, and `db reindex`.

A write never calls an embedding provider: it stores the article and its passages and
queues the embedding, in one transaction.
"""
