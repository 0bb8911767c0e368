"""The MCP server: the application, its tools and resources, the HTTP transport, the client
log, the wiring of services (runtime), and the one adapter to the SDK's internals.
"""
