#!/usr/bin/env bash
# The whole test suite, from a clean clone: installs and starts what the
# tests need when it is missing (Python peer libraries, PostgreSQL, Redis,
# Chromium, nginx), checks formatting and lints, then runs every test with the
# service tests switched on. A missing service is a failure, never a skip.
set -euo pipefail
cd "$(dirname "$0")"

log() { printf '==> %s\n' "$*" >&2; }

export SIGIL_TEST_POSTGRES_URL="${SIGIL_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
export SIGIL_TEST_REDIS_URL="${SIGIL_TEST_REDIS_URL:-redis://127.0.0.1:6379}"

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Python peer libraries (oauthlib, requests-oauthlib, Authlib), pinned.
ensure_python() {
  if ! command -v python3 >/dev/null; then apt_install python3 python3-venv; fi
  if [ ! -x .venv/bin/python ]; then
    log "creating .venv"
    python3 -m venv .venv || { apt_install python3-venv; python3 -m venv .venv; }
  fi
  if ! .venv/bin/python - <<'PY' 2>/dev/null
import importlib.metadata as m, sys
want = [l.split('#')[0].strip() for l in open('interop/requirements.txt')]
for spec in filter(None, want):
    name, version = spec.split('==')
    if m.version(name) != version:
        sys.exit(1)
PY
  then
    log "installing interop/requirements.txt"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r interop/requirements.txt
  fi
  export SIGIL_PYTHON="$PWD/.venv/bin/python"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ensure_postgres() {
  if port_open 5432; then return; fi
  if ! command -v pg_ctlcluster >/dev/null; then apt_install postgresql; fi
  log "starting PostgreSQL"
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 30); do port_open 5432 && break; sleep 1; done
  port_open 5432 || { echo "PostgreSQL did not start on 127.0.0.1:5432" >&2; exit 1; }
}

pg_answers() { PGCONNECT_TIMEOUT=5 psql "$1" -qAtXc 'SELECT 1' >/dev/null 2>&1; }

as_postgres() {
  # The postgres system user, for peer authentication on the local socket.
  if [ "$(id -un)" = postgres ]; then (cd / && "$@")
  elif command -v runuser >/dev/null; then (cd / && runuser -u postgres -- "$@")
  else (cd / && sudo -u postgres "$@")
  fi
}

# The tests need a database they may create databases and schemas from. This
# machine's PostgreSQL trusts loopback logins and has a `test` database; a
# stock Debian one asks for a password on TCP and has neither, so a role and
# database of the tests' own are made through the postgres system user.
ensure_postgres_access() {
  local url="$SIGIL_TEST_POSTGRES_URL"
  command -v psql >/dev/null || apt_install postgresql-client
  log "PostgreSQL: trying ${url%%@*}@… (SIGIL_TEST_POSTGRES_URL)"
  if pg_answers "$url"; then return; fi
  local base="${url%/*}" name="${url##*/}"
  if pg_answers "$base/postgres"; then
    log "PostgreSQL: creating database $name"
    psql "$base/postgres" -qXc "CREATE DATABASE \"$name\""
    pg_answers "$url" && return
  fi
  log "PostgreSQL refuses that login: making role and database sigil_test as the postgres system user"
  local password
  password=$(openssl rand -hex 16 2>/dev/null || od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  as_postgres psql -qX -v ON_ERROR_STOP=1 -v pw="$password" <<'SQL'
SELECT 'CREATE ROLE sigil_test' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sigil_test')\gexec
ALTER ROLE sigil_test LOGIN CREATEDB PASSWORD :'pw';
SELECT 'CREATE DATABASE sigil_test OWNER sigil_test' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'sigil_test')\gexec
SQL
  export SIGIL_TEST_POSTGRES_URL="postgres://sigil_test:$password@127.0.0.1:5432/sigil_test"
  pg_answers "$SIGIL_TEST_POSTGRES_URL" \
    || { echo "PostgreSQL: cannot log in as sigil_test on 127.0.0.1:5432 (pg_hba.conf?)" >&2; exit 1; }
}

ensure_redis() {
  if port_open 6379; then return; fi
  if ! command -v redis-server >/dev/null; then apt_install redis-server; fi
  log "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 30); do port_open 6379 && break; sleep 1; done
  port_open 6379 || { echo "Redis did not start on 127.0.0.1:6379" >&2; exit 1; }
}

# Headless Chromium and ChromeDriver for the web UI's browser tests.
ensure_chromium() {
  if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then return; fi
  apt_install chromium chromium-driver
  [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] \
    || { echo "chromium or chromedriver missing after install" >&2; exit 1; }
}

# nginx (TLS-terminating proxy in front of sigil serve) and openssl (the
# test CA) for the behind-a-proxy test.
ensure_nginx() {
  if { [ -x /usr/sbin/nginx ] || [ -x /usr/bin/nginx ]; } && command -v openssl >/dev/null; then return; fi
  apt_install nginx-light openssl
  { [ -x /usr/sbin/nginx ] || [ -x /usr/bin/nginx ]; } \
    || { echo "nginx missing after install" >&2; exit 1; }
}

# cargo-deny for licences, bans, sources and advisories (the version whose
# offline database layout scripts/advisories.sh knows).
CARGO_DENY_VERSION=0.20.2
ensure_cargo_deny() {
  if command -v cargo-deny >/dev/null && cargo deny --version | grep -q " $CARGO_DENY_VERSION"; then return; fi
  log "cargo install cargo-deny@$CARGO_DENY_VERSION (a few minutes)"
  cargo install --locked --quiet "cargo-deny@$CARGO_DENY_VERSION"
}

# cargo-deb, for the Debian package test (scripts/package.sh).
CARGO_DEB_VERSION=3.8.0
ensure_cargo_deb() {
  if command -v cargo-deb >/dev/null && cargo deb --version | grep -q "$CARGO_DEB_VERSION"; then return; fi
  log "cargo install cargo-deb@$CARGO_DEB_VERSION (a few minutes)"
  cargo install --locked --quiet "cargo-deb@$CARGO_DEB_VERSION"
}

log "Python peers (.venv)"
ensure_python
log "PostgreSQL on 127.0.0.1:5432"
ensure_postgres
ensure_postgres_access
log "Redis on 127.0.0.1:6379"
ensure_redis
log "Chromium and ChromeDriver"
ensure_chromium
log "nginx and openssl"
ensure_nginx
log "cargo-deny $CARGO_DENY_VERSION"
ensure_cargo_deny
log "cargo-deb $CARGO_DEB_VERSION"
ensure_cargo_deb

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo deny check licenses bans sources"
cargo deny --log-level error check licenses bans sources
log "advisories (RustSec, offline snapshot when there is one)"
./scripts/advisories.sh
log "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
log "Debian package: cargo deb, unpacked for the package test"
eval "$(./scripts/package.sh | sed 's/^/export /')"
log "cargo test (service tests on; the slowest test binaries take a few minutes each)"
export SIGIL_SERVICE_TESTS=1
cargo test --workspace "$@"
