# The facilitation server. One process per container; scale with more replicas behind the load balancer
# (docker-compose.yml), all sharing one Redis.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# The PDF export (WeasyPrint) loads Pango and embeds Noto Sans CJK TC for Chinese text.
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk fonts-noto-color-emoji \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY facilitation ./facilitation
COPY clustering ./clustering
COPY static ./static
RUN pip install . && useradd --system --no-create-home facilitation
USER facilitation
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"
CMD ["facilitation", "serve", "--host", "0.0.0.0", "--port", "8000", "--redis", "redis://redis:6379/0"]
