# clientary-mcp as a network service: Streamable HTTP on port 8000, audit log on the /data volume.
# Configuration is by environment (see docs/service.md); the server refuses to start on this
# non-loopback bind without a principals file (CLIENTARY_MCP_PRINCIPALS).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY clientary_mcp ./clientary_mcp
RUN pip install . && rm -rf /src

RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin app \
    && mkdir -p /data && chown app:app /data
USER app
WORKDIR /data

ENV CLIENTARY_MCP_AUDIT_LOG=/data/audit.jsonl \
    CLIENTARY_MCP_PRINCIPALS=/data/principals.json
VOLUME /data
EXPOSE 8000

# slim has no curl; Python is there anyway.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# SIGTERM (docker stop) lets calls in flight finish for up to CLIENTARY_MCP_SHUTDOWN_TIMEOUT (7 s) and
# connections close (2 s more at most), inside docker's default 10 s grace period.
ENTRYPOINT ["clientary-mcp"]
CMD ["serve", "--transport", "http", "--host", "0.0.0.0", "--port", "8000"]
