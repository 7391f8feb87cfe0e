# The facilitation server. One process per container; scale with more replicas behind nginx
# (docker-compose.yml), all sharing one Redis or one Redis Cluster (FACILITATION_REDIS names any node).
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
# Readiness (/readyz): the store takes a write and the live feed is connected; /livez only says the
# process answers (docs/scaling.md, "Health").
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"
ENV FACILITATION_REDIS=redis://redis:6379/0
CMD ["facilitation", "serve", "--host", "0.0.0.0", "--port", "8000"]
