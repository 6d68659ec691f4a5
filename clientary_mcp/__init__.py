"""clientary-mcp: every Clientary action as an MCP tool."""

__version__ = "0.1.0"
