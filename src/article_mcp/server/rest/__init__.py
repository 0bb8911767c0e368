"""The REST API beside /mcp: a FastAPI app over the same services as the MCP tools.

`app.py` builds it (routers, problem details, the OpenAPI document at /openapi.json);
`articles.py`, `versions.py`, `search.py` and `queue.py` are its routers; `problems.py` turns
every failure into RFC 9457 problem details; `guards.py` holds the checks every request passes
(Host, media type, scope).
"""
