"""article-mcp: markdown articles in PostgreSQL, with pgvector embeddings kept current by a
durable background queue, served to LLM agents over MCP.

This module stays free of imports so that tooling can find the package's files cheaply.
"""

__version__ = "0.1.0"
