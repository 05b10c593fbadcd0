# The container's defaults, for the server (entrypoint.sh) and for operators' commands
# (`docker exec CONTAINER manage ...`, docker/manage): sourced, so that both see the same
# settings, generated secrets included. POSIX sh.

var_dir=${PORTAL_VAR_DIR:-/data}

is_true() {
  case $(printf '%s' "${1:-}" | tr '[:upper:]' '[:lower:]') in
    1 | true | yes | on) return 0 ;;
    *) return 1 ;;
  esac
}

is_set() {  # NAME: set directly or through NAME_FILE (settings.py reads both)
  eval "[ -n \"\${$1:-}\" ] || [ -n \"\${$1_FILE:-}\" ]"
}

require_writable() {  # FOLDER WHAT: stop with a plain message unless this user can write there
  if [ ! -w "$1" ]; then
    echo "offline-portal: $1 is not writable by uid $(id -u), the user the portal runs as," \
      "and $2 must be kept there. Use a named volume (-v portal-data:$1), or give the host" \
      "folder to that user (chown $(id -u):$(id -g) FOLDER)." >&2
    exit 1
  fi
}

keep_generated() {  # NAME FILE: make a random value once, keep it in the volume, point NAME_FILE at it
  if [ ! -s "$2" ]; then
    require_writable "$(dirname "$2")" "a generated secret key"
    tmp_file=$(mktemp "$2.XXXXXX")
    python -c 'import secrets; print(secrets.token_urlsafe(50))' > "$tmp_file"
    # A hard link never replaces an existing file: a replica that lost the race reads the
    # winner's value.
    ln "$tmp_file" "$2" 2>/dev/null || true
    rm -f "$tmp_file"
  fi
  export "$1_FILE=$2"
}

# No DJANGO_SECRET_KEY / PORTAL_SECRETS_KEY given: generate them on first start and keep them in
# the volume, so that restarts keep sessions valid and tenants' stored shared keys readable.
# Replicas that do not share /data must be given the same values instead (compose.yaml does).
is_set DJANGO_SECRET_KEY || keep_generated DJANGO_SECRET_KEY "$var_dir/django_secret_key"
is_set PORTAL_SECRETS_KEY || keep_generated PORTAL_SECRETS_KEY "$var_dir/portal_secrets_key"

# No DATABASE_URL: the SQLite database lives in the volume.
is_set DATABASE_URL || require_writable "$var_dir" "the SQLite database"

# The sandbox is on by default here (contract). Unless the operator points the default tenant
# elsewhere, point it at the sandbox in this container, with the demo credentials that
# sandbox/fixtures/demo.json seeds, so that uploads activate out of the box.
if is_true "${SANDBOX_ENABLED:-false}" && ! is_set LICENSE_API_URL; then
  export LICENSE_API_URL="http://127.0.0.1:${PORT:-8000}/sandbox/api/v4"
  is_set LICENSE_API_KEY || export LICENSE_API_KEY=3f0b1b7e-5c1a-4d2e-9a77-0c1d2e3f4a5b
  is_set LICENSE_SHARED_KEY || export LICENSE_SHARED_KEY=demo-shared-key-0123456789abcdef
  is_set LICENSE_API_BUNDLE_PRODUCTS || export LICENSE_API_BUNDLE_PRODUCTS=SUITE
fi
