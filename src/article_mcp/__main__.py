"""`python -m article_mcp` runs the command line."""

from article_mcp.cli.main import main

main()
