"""The ground layer: what the project stands on and that knows nothing of retail or MCP.

Credentials, logs and metrics, the PostgreSQL backend and the embedded server, backups
and cluster bootstrap. Nothing here imports ``zava``, ``retail``, ``mcp_tools`` or
``oauth_server`` (``lint-imports`` checks it); the layers above register what they
add, such as the replica gauges, from their ``AppConfig.ready()``.
"""
