FROM python:3.11-slim

# PROMETHEUS_MULTIPROC_DIR: each server process counts its metrics into a file there, and a
# scrape of /metrics adds them all up (mount a tmpfs there to start each run from zero).
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 OKRLINK_DATA_DIR=/var/lib/okrlink \
    PROMETHEUS_MULTIPROC_DIR=/run/okrlink/metrics
WORKDIR /app
COPY pyproject.toml README.md requirements.lock ./
COPY connect connect
COPY integrations integrations
COPY sync sync
COPY descriptors descriptors
COPY examples examples
# The runtime dependencies only (no test extras), exactly as locked: every package pinned and
# checked against its hashes, then okrlink itself without resolving anything more; a fixed
# numeric uid, so that Kubernetes' runAsNonRoot can check it (deploy/kubernetes runs as 10001).
RUN pip install --no-cache-dir --require-hashes -r requirements.lock \
    && pip install --no-cache-dir --no-deps -e . \
    && groupadd --system --gid 10001 okrlink \
    && useradd --system --uid 10001 --gid okrlink --home /var/lib/okrlink --create-home okrlink \
    && install -d -o okrlink -g okrlink "$PROMETHEUS_MULTIPROC_DIR"
USER 10001
EXPOSE 8080
# Migrations run at start-up under an advisory lock; the queue consumer runs as its own
# container with `okrlink worker` and OKRLINK_QUEUE_URL=redis://...
# `okrlink web`: granian, one worker process per CPU, one Python thread each (see the
# README's "Serving in production"); SIGTERM lets running requests finish.
CMD ["okrlink", "web", "--port", "8080"]
