FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 OKRLINK_DATA_DIR=/var/lib/okrlink
WORKDIR /app
COPY pyproject.toml README.md ./
COPY connect connect
COPY integrations integrations
COPY sync sync
COPY descriptors descriptors
COPY examples examples
RUN pip install --no-cache-dir -e . \
    && useradd --system --home /var/lib/okrlink --create-home okrlink
USER okrlink
EXPOSE 8080
# Migrations run at start-up under an advisory lock; the queue consumer runs as its own
# container with `okrlink worker` and OKRLINK_QUEUE_URL=redis://...
# gunicorn's sync workers, one request at a time per process: okrlink's requests are
# CPU-bound, and sync served more than gthread on every bench. Scale with --workers and replicas.
CMD ["gunicorn", "--workers", "4", "--bind", "0.0.0.0:8080", "--access-logfile", "-", "connect.wsgi:app"]
