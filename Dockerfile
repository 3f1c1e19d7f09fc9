# The sidecar image: web and worker are the same image with different commands.
# Not built or run on the development machines (no Docker engine there); kept simple on purpose.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    SIDECAR_DATA_DIR=/data SIDECAR_LOG_FORMAT=json \
    SIDECAR_HOST=0.0.0.0 SIDECAR_ALLOWED_HOSTS=localhost,127.0.0.1

RUN useradd --create-home --uid 1000 sidecar && mkdir -p /data /libraries && chown sidecar /data /libraries
WORKDIR /app
COPY pyproject.toml README.md ./
COPY sidecar ./sidecar
COPY webhooks ./webhooks
COPY worker ./worker
COPY sql ./sql
# CPU torch first (local embeddings); the compose file uses real PostgreSQL and Valkey, so no `embedded` extra.
RUN pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu \
 && pip install -e ".[local]"

USER sidecar
EXPOSE 8787
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8787/api/health', timeout=4).status == 200 else 1)"
CMD ["sidecar", "web"]
