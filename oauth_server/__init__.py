"""Sign-in for MCP clients: django-oauth-toolkit configured as Zava's authorization server.

The toolkit does the protocol (codes, PKCE, tokens, rotation, metadata); this package
adds what is Zava's: a login page styled like the admin, a consent page naming the
client and the manager's stores, refusal of people who are not managers, the
resource (/mcp) every token must be bound to, and per-address rate limits.
"""
