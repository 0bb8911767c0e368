"""The `article-mcp` command line."""
