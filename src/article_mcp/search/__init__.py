"""Search: the service behind `semantic_search` (semantic, full-text and hybrid legs), rank
fusion and diversification, query vectors and their cache, and the request and result models.
"""
