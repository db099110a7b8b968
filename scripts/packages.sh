# Sourced by the scripts beside it: installs the Debian packages a step needs, when missing.

# Packages every build needs (used by the scripts that source this file).
# shellcheck disable=SC2034
BUILD_PACKAGES="cmake ninja-build g++ pkg-config libcli11-dev libtomlplusplus-dev
libhowardhinnant-date-dev libfmt-dev catch2 tzdata python3 libcurl4-openssl-dev libsimdjson-dev
libpq-dev libssl-dev libxxhash-dev"

# Packages the main job (scripts/run) needs besides: PostgreSQL for its throwaway database,
# flock, which offpeak-cron locks regions with, and curl, which sends its dead-man pings.
# shellcheck disable=SC2034
RUN_PACKAGES="postgresql postgresql-common util-linux curl"

# Packages the tests need besides.
# shellcheck disable=SC2034
# prometheus brings promtool, which checks the metrics files the tools write; systemd and
# man-db check the units (systemd-analyze verify) and the man pages they name; clang and
# libclang-rt-dev (its libFuzzer and sanitizer runtimes) build the fuzz harnesses;
# python3-yaml reads the Kubernetes manifests of deploy/; zsh and fish run the completions.
TEST_PACKAGES="shellcheck postgresql postgresql-common util-linux curl systemd man-db prometheus zsh fish
clang libclang-rt-dev python3-yaml"

# ensure_packages PKG...: installs those that are not installed yet, with apt-get.
ensure_packages() {
  missing=""
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed"; then
      missing="$missing $pkg"
    fi
  done
  [ -n "$missing" ] || return 0
  echo "installing:$missing" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  # shellcheck disable=SC2086 # the package list is meant to split
  $sudo apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >&2
}
