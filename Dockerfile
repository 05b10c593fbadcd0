# The Offline Portal as one image: nginx on :8000 in front of gunicorn (gunicorn.conf.py starts
# both), state (SQLite db, generated secret key, sandbox RSA key) under the /data volume, the
# built-in sandbox License API on by default.
#
#   docker build -t offline-portal . && docker run -p 8000:8000 offline-portal
#
# Django's commands run with the server's settings through `manage`, e.g.
#   docker exec -it CONTAINER manage createsuperuser
#
# Production: set DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, LICENSE_API_URL/KEY and
# LICENSE_SHARED_KEY, SANDBOX_ENABLED=false, and DATABASE_URL for PostgreSQL (compose.yaml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# nginx reads every request whole before gunicorn's threads see it (gunicorn.conf.py says why);
# gunicorn starts and stops it. Debian's smallest build is enough.
# gettext compiles the translation catalogues below and is removed again in that step.
RUN apt-get update \
 && apt-get install -y --no-install-recommends nginx-light gettext \
 && rm -rf /var/lib/apt/lists/*

# gunicorn keeps its control socket (for gunicornc) in the home folder, or in /dev/shm
# where that is read-only (gunicorn.conf.py).
RUN groupadd --system --gid 10001 portal \
 && useradd --system --uid 10001 --gid 10001 --create-home --shell /usr/sbin/nologin portal

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

# The code stays root-owned: the portal user can read it, not change it.
COPY . .
# collectstatic and compilemessages only import settings; the key exists for these commands
# and is not kept. The catalogues (locale/) are compiled here: .mo files are never committed.
# The portal's user owns /data; group 0 may write it too, for platforms that run images as an
# arbitrary user in group 0 (OpenShift).
RUN DJANGO_SECRET_KEY=collectstatic-build-only python manage.py collectstatic --noinput \
      --verbosity 0 \
 && DJANGO_SECRET_KEY=compilemessages-build-only python manage.py compilemessages \
      --ignore '.*' --verbosity 0 \
 && apt-get purge -y --auto-remove gettext \
 && python -m compileall -q offline_portal portal sandbox \
 && chmod 0755 docker/entrypoint.sh docker/manage \
 && ln -s /app/docker/manage /usr/local/bin/manage \
 && mkdir /data && chown 10001:0 /data && chmod 0770 /data

ENV HOST=0.0.0.0 \
    PORT=8000 \
    PORTAL_VAR_DIR=/data \
    SANDBOX_ENABLED=true \
    DJANGO_ALLOWED_HOSTS=localhost,127.0.0.1,[::1]
VOLUME /data
# Numeric, so that Kubernetes' runAsNonRoot can tell it is not root.
USER 10001:10001
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request as r; r.urlopen(r.Request('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/healthz', headers={'Host': 'localhost'}), timeout=4)"]

ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["gunicorn", "--config", "gunicorn.conf.py", "offline_portal.wsgi"]
