# Production image: gunicorn for the web, the same image for Celery workers and beat.
FROM python:3.11-slim-bookworm AS base

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DEBUG=false VAR_DIR=/app/var

# WeasyPrint (PDF exports) needs Pango; libpq is for psycopg's fallback; curl for health checks.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b \
      libfontconfig1 fonts-dejavu-core libpq5 curl \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 dsar
WORKDIR /app

COPY pyproject.toml constraints.txt README.md ./
COPY smarct_dsar ./smarct_dsar
COPY requests_app ./requests_app
COPY exports_app ./exports_app
RUN pip install -c constraints.txt .

COPY manage.py ./
COPY templates ./templates
COPY locale ./locale
COPY static ./static

# collectstatic loads the production settings, which insist on real values; these placeholders
# exist only for this build step and are not in the final environment.
RUN env SECRET_KEY=build-only-placeholder-not-used-at-runtime-xxxxxxxxxxxxxxxx \
        DATABASE_URL=postgres://build@localhost/build CELERY_BROKER_URL=redis://localhost:6379/0 \
        ALLOWED_HOSTS=localhost SITE_URL=https://localhost EMAIL_HOST=localhost \
        DSAR_ENCRYPTION_KEYS=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= VAR_DIR=/tmp/build \
        DSAR_DATA_MAP=/dev/null DSAR_SIGNING_KEY=build-only-placeholder \
        python manage.py collectstatic --noinput \
 && mkdir -p /app/var && chown -R dsar:dsar /app/var

USER dsar
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
# gunicorn trusts X-Forwarded-Proto only from FORWARDED_ALLOW_IPS (the proxy: docker-compose.yml
# sets it; gunicorn's default is 127.0.0.1), never from everyone. Its logs, the access log too,
# go through the same redaction as every other log (no link tokens, no email addresses).
CMD ["gunicorn", "smarct_dsar.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4", \
     "--access-logfile", "-", "--logger-class", "smarct_dsar.gunicorn_logging.RedactingLogger"]
