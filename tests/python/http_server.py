"""An MCP server on the official Python SDK (mcp 1.x, FastMCP) over Streamable HTTP,
served by uvicorn with a short keep-alive: it closes an idle connection after
KEEPALIVE seconds, as uvicorn (5 s) and Node (5 s) servers do by default.

Usage: http_server.py PORT KEEPALIVE. The Rust test
(crates/warden/tests/gateway.rs::an_http_upstream_that_closes_idle_connections_keeps_working)
puts Warden in front of it.
"""
import sys

import uvicorn
from mcp.server.fastmcp import FastMCP

mcp = FastMCP("py-http")


@mcp.tool()
def add(a: int, b: int) -> str:
    """Add two integers."""
    return str(a + b)


@mcp.tool()
def echo(text: str) -> str:
    """Return the text."""
    return text


port, keepalive = int(sys.argv[1]), float(sys.argv[2])
uvicorn.run(mcp.streamable_http_app(), host="127.0.0.1", port=port, timeout_keep_alive=keepalive, log_level="warning")
