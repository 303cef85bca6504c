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
# `okrlink web`: granian, one worker process per CPU, one Python thread each (see the
# README's "Serving in production"); SIGTERM lets running requests finish.
CMD ["okrlink", "web", "--port", "8080"]
