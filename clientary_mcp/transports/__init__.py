"""How MCP clients reach the server: stdio, Streamable HTTP and SSE, with principals and rate limits."""
