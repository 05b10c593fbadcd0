#!/bin/sh
# Container start: fill in defaults that make `docker run offline-portal` work with no
# configuration (docker/defaults.sh), prepare the database, then exec the server (CMD) so that
# it is PID 1 and receives SIGTERM itself (gunicorn shuts down gracefully on it).
set -eu
cd "$(dirname "$0")/.."
. docker/defaults.sh

PYTHONPATH=. python docker/prepare_database.py
exec "$@"
