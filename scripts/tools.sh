# Tools the tests need, installed once and cached under $CONTACTD_CACHE (default ~/.cache/contactd)
# so later runs are fast. Sourced by scripts/test and .ci/run.

CONTACTD_CACHE="${CONTACTD_CACHE:-$HOME/.cache/contactd}"
TANSU_VERSION="0.6.0"
CARGO_DENY_VERSION="0.20.2"
CARGO_MACHETE_VERSION="0.9.2"
# The sqlx line of Cargo.lock: the CLI writes the offline query data the macros read.
SQLX_CLI_VERSION="0.8.6"
export TANSU_BIN="$CONTACTD_CACHE/tools/bin/tansu"

# Build dependencies: librdkafka (rdkafka's `ssl` feature), PostgreSQL TLS (sqlx) and the HTTPS
# clients link the system OpenSSL; its headers come from libssl-dev, found through pkg-config.
ensure_build_deps() {
  if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists openssl; then
    return
  fi
  echo "installing the OpenSSL development files (libssl-dev, pkg-config)…"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends libssl-dev pkg-config
}

# tansu: a real Kafka-protocol broker for the end-to-end tests (built from crates.io, ~12 min once).
ensure_tansu() {
  if [ -x "$TANSU_BIN" ] && "$TANSU_BIN" --version 2>/dev/null | grep -q "$TANSU_VERSION"; then
    return
  fi
  echo "installing tansu $TANSU_VERSION into $CONTACTD_CACHE/tools (first run only)…"
  CARGO_TARGET_DIR="$CONTACTD_CACHE/tansu-target" cargo install tansu --version "$TANSU_VERSION" \
    --locked --features dynostore --root "$CONTACTD_CACHE/tools"
  rm -rf "$CONTACTD_CACHE/tansu-target"
}

# PostgreSQL: the local server the tests create their databases on.
ensure_postgres() {
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    return
  fi
  echo "starting the local PostgreSQL…"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
  for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && return
    sleep 1
  done
  echo "PostgreSQL did not start on 127.0.0.1:5432" >&2
  return 1
}

# A cargo subcommand at an exact version, built once into $CONTACTD_CACHE/tools (on PATH after).
# Usage: ensure_cargo_tool <crate> <version> [<binary>] [<cargo install options>…]; the binary
# (default: the crate's name) is what proves the installed version.
ensure_cargo_tool() {
  local crate="$1" version="$2" name="${3:-$1}"
  local bin="$CONTACTD_CACHE/tools/bin/$name"
  shift $(($# < 3 ? $# : 3))
  export PATH="$CONTACTD_CACHE/tools/bin:$PATH"
  if [ -x "$bin" ] && cargo "${name#cargo-}" --version 2>/dev/null | grep -q "$version"; then
    return
  fi
  echo "installing $crate $version into $CONTACTD_CACHE/tools (first run only)…"
  CARGO_TARGET_DIR="$CONTACTD_CACHE/$crate-target" cargo install "$crate" --version "$version" --locked \
    --root "$CONTACTD_CACHE/tools" "$@"
  rm -rf "$CONTACTD_CACHE/$crate-target"
}

# cargo-deny: advisories, licenses, bans and sources of the dependency graph (deny.toml).
ensure_cargo_deny() {
  ensure_cargo_tool cargo-deny "$CARGO_DENY_VERSION"
}

# cargo-machete: dependencies a crate declares and never uses.
ensure_cargo_machete() {
  ensure_cargo_tool cargo-machete "$CARGO_MACHETE_VERSION"
}

# sqlx-cli: `cargo sqlx prepare` regenerates (and `--check` verifies) the committed offline data of
# the checked query macros (scripts/sqlx-prepare). PostgreSQL only, over the system OpenSSL.
ensure_sqlx_cli() {
  ensure_cargo_tool sqlx-cli "$SQLX_CLI_VERSION" cargo-sqlx --no-default-features --features native-tls,postgres
}

ensure_nextest() {
  command -v cargo-nextest >/dev/null 2>&1 || cargo install cargo-nextest --locked
}

# The console's browser test: Debian's Chromium (apt, first run only) and the test script's
# playwright-core (`npm ci` of the committed lock file; npm's cache under $CONTACTD_CACHE/npm).
# Nothing is downloaded but these packages: playwright-core drives the system Chromium.
CONSOLE_BROWSER_TEST="services/contactd/tests/browser"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
ensure_browser() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if [ ! -x "$CHROMIUM" ]; then
    echo "installing Debian's chromium (first run only)…"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
  fi
  if ! command -v node >/dev/null 2>&1; then
    echo "installing Node.js (first run only)…"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs npm >/dev/null
  fi
  npm ci --prefix "$CONSOLE_BROWSER_TEST" --cache "$CONTACTD_CACHE/npm" --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null
}
