#!/usr/bin/env bash
# Runs Gantry's whole test suite on a fresh machine: installs what the tests need
# (Debian packages), makes sure the Docker Engine and a PostgreSQL cluster are up, builds
# the local test images, then checks formatting and lints and runs every test. CI calls
# exactly this script.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

need_pkgs=()
command -v bwrap >/dev/null 2>&1 || need_pkgs+=(bubblewrap)
[ -x /bin/busybox ] || need_pkgs+=(busybox-static)
command -v git >/dev/null 2>&1 || need_pkgs+=(git)
command -v python3 >/dev/null 2>&1 || need_pkgs+=(python3)
command -v pip >/dev/null 2>&1 || need_pkgs+=(python3-pip)
command -v curl >/dev/null 2>&1 || need_pkgs+=(curl)
command -v psql >/dev/null 2>&1 || need_pkgs+=(postgresql-client)
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_pkgs+=(chromium-driver)
# Test hosts (crates/gantry-testhost): network namespaces, nftables partitions, sshd.
command -v ip >/dev/null 2>&1 || need_pkgs+=(iproute2)
command -v nft >/dev/null 2>&1 || need_pkgs+=(nftables)
[ -x /usr/sbin/sshd ] || need_pkgs+=(openssh-server)
command -v ssh >/dev/null 2>&1 || need_pkgs+=(openssh-client)
command -v ssh-keygen >/dev/null 2>&1 || need_pkgs+=(openssh-client)
# gantry-infra's user and group resources are tested on test hosts sharing this machine.
command -v useradd >/dev/null 2>&1 || need_pkgs+=(passwd)
# Container test hosts (systemd, apt, nginx) are made once with debootstrap and docker import.
[ -x /usr/sbin/debootstrap ] || need_pkgs+=(debootstrap)
# gantry-deploy's canary analysis queries a real Prometheus server on loopback.
[ -x /usr/bin/prometheus ] || need_pkgs+=(prometheus)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  log "starting the Docker Engine"
  if command -v dockerd >/dev/null 2>&1; then
    (dockerd >/tmp/gantry-dockerd.log 2>&1 &)
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  fi
  docker info >/dev/null 2>&1 || { echo "the Docker Engine is not reachable; see /tmp/gantry-dockerd.log" >&2; exit 1; }
fi

log "starting PostgreSQL for the storage tests"
if [ -z "${GANTRY_TEST_DATABASE_URL:-}" ]; then
  eval "$(bash scripts/start-postgres.sh)"
fi
export GANTRY_TEST_DATABASE_URL

log "building the local test images"
bash scripts/build-test-images.sh

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "cargo test"
cargo test --workspace --locked 2>&1

log "API fuzzing against the OpenAPI document (schemathesis)"
bash scripts/api-fuzz.sh
