# veille in one image: `veille serve` runs the web app and the scheduler in one process.
#   docker build -t veille .
#   docker run -p 8000:8000 -v veille-data:/data -v veille-config:/config veille
# compose.yaml runs it with PostgreSQL behind Caddy. Nothing here needs the network at run time.

# --- build: install veille and its dependencies into a virtualenv (the same pip install
# CI runs, without the test extra) so the final image carries no build tools.
FROM python:3.12-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY veille ./veille
RUN pip install ".[postgres]"

# --- run: slim Python, the virtualenv (the seed model is package data in it), a non-root user.
FROM python:3.12-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    VEILLE_DATA_DIR=/data \
    VEILLE_SOURCES=/config/feeds.yaml \
    SEED_SOURCES=/usr/share/veille/feeds.yaml
RUN groupadd --system --gid 10001 veille \
 && useradd --system --uid 10001 --gid veille --home-dir /data --shell /usr/sbin/nologin veille \
 && mkdir -p /data /config /usr/share/veille \
 && chown veille:veille /data /config
COPY --from=build /opt/venv /opt/venv
# The sources shipped with veille: /config/feeds.yaml starts as this list (a new named volume
# copies it; the entrypoint copies it into an empty mounted folder). /config stays writable
# by veille so the Sources page can save.
COPY feeds.yaml /usr/share/veille/feeds.yaml
COPY --chown=veille:veille feeds.yaml /config/feeds.yaml
COPY docker/entrypoint.sh /usr/local/bin/veille-entrypoint
# The seed model ships inside the package; models retrained from curators' corrections go to
# /data/models (VEILLE_MODELS_DIR's default) and survive upgrades with the /data volume.
USER veille
WORKDIR /data
# /data: SQLite file (when no PostgreSQL), secret key, outbox, archive, feeds, models/.
# /config: feeds.yaml, rewritten by the Sources page.
VOLUME ["/data", "/config"]
EXPOSE 8000
# No curl in slim images: Python's urllib fails (exit 1) on refusal, timeout or HTTP >= 400.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
# SIGTERM (docker stop) lets running jobs finish their writes before the process exits.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/veille-entrypoint"]
CMD ["veille", "serve", "--host", "0.0.0.0"]
