# clientary-mcp as a network service: Streamable HTTP on CLIENTARY_MCP_HOST:CLIENTARY_MCP_PORT (0.0.0.0:8000),
# audit log on the /data volume. Configuration is by environment (see docs/service.md); the server refuses
# to start on this non-loopback bind without a principals file (CLIENTARY_MCP_PRINCIPALS).
FROM python:3.11-slim

# The MCP Registry checks that the image belongs to the server.json of this name.
LABEL io.modelcontextprotocol.server.name="io.github.clientary-mcp/clientary-mcp"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY clientary_mcp ./clientary_mcp
# Every dependency at the exact version of constraints.txt, so that a rebuild gets the same image.
RUN pip install -c constraints.txt . && rm -rf /src

RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin app \
    && mkdir -p /data && chown app:app /data
USER app
WORKDIR /data

ENV CLIENTARY_MCP_HOST=0.0.0.0 \
    CLIENTARY_MCP_PORT=8000 \
    CLIENTARY_MCP_AUDIT_LOG=/data/audit.jsonl \
    CLIENTARY_MCP_PRINCIPALS=/data/principals.json \
    CLIENTARY_MCP_STATE_DIR=/data/state
VOLUME /data
EXPOSE 8000

# slim has no curl; Python is there anyway. The probe follows CLIENTARY_MCP_PORT.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('CLIENTARY_MCP_PORT', '8000'), timeout=4)"]

# SIGTERM (docker stop) lets calls in flight finish for up to CLIENTARY_MCP_SHUTDOWN_TIMEOUT (7 s) and
# connections close (2 s more at most), inside docker's default 10 s grace period.
ENTRYPOINT ["clientary-mcp"]
CMD ["serve", "--transport", "http"]
