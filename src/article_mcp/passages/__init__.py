"""Passages: how an article is cut into chunks (pure, no database) and how chunks and their
BM25 postings are stored.
"""
