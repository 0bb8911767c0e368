"""Embedding providers: one protocol (`base.EmbeddingProvider`), three implementations."""
