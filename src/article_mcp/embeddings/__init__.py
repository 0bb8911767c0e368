"""Embeddings: the providers (local, Ollama, OpenAI; HTTP and models, no database), provider
batching, the registry of embedding models and their indexes, and backfill.
"""
