#!/usr/bin/env bash
# The test bed's images, made from this machine's own binaries with `docker import`: no registry is
# reachable here, so nothing can be pulled. They live under berth-test/ so they never clash with a
# developer's real images; demo-images.sh gives them public names only where the real ones are
# missing and cannot be pulled.
#
# Each image is labelled with a hash of this script; an image whose label differs is rebuilt.
set -euo pipefail

recipe=$(sha256sum "$0" | cut -c1-16)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

current() { [ "$(docker image inspect -f '{{index .Config.Labels "berth.testbed"}}' "$1" 2>/dev/null)" = "$recipe" ]; }

# A root filesystem with busybox and its applets, tini as init, and a root user.
base() {
  local root=$work/$1
  mkdir -p "$root"/{bin,sbin,etc,tmp,data}
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(busybox --list); do [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"; done
  cp -L /usr/bin/docker-init "$root/sbin/tini"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  echo "$root"
}

# Copies binaries and every shared library they load into a root filesystem.
binaries() {
  local root=$1; shift
  cp --parents -L "$@" "$root"
  ldd "$@" | awk '/=>/ {print $3} /ld-linux/ {print $1}' | sort -u | xargs cp --parents -L -t "$root"
}

# import ROOT TAG [--change …]: tars the root filesystem into an image with the recipe label.
import() {
  local root=$1 tag=$2; shift 2
  tar -C "$root" -c . | docker import -c "LABEL berth.testbed=$recipe" \
    -c 'ENTRYPOINT ["/sbin/tini", "--"]' "$@" - "$tag" >/dev/null
  echo "built $tag" >&2
}

# A general-purpose image for engine tests: a shell and the busybox tools.
current berth-test/busybox:1 || {
  root=$(base busybox)
  import "$root" berth-test/busybox:1 -c 'CMD ["sh"]'
}

# nginx: busybox httpd serving nginx's default document root. Static files only: busybox's httpd
# here has no proxy support, so stacks that need one use a small proxy of their own.
current berth-test/nginx:1 || {
  root=$(base nginx)
  mkdir -p "$root/usr/share/nginx/html"
  echo '<!doctype html><title>Welcome</title><h1>It works (Berth test bed nginx stand-in)</h1>' \
    >"$root/usr/share/nginx/html/index.html"
  import "$root" berth-test/nginx:1 -c 'EXPOSE 80' \
    -c 'CMD ["httpd", "-f", "-p", "80", "-h", "/usr/share/nginx/html"]'
}

# node: the host's own Node.js, so a real JavaScript server runs in the stack.
current berth-test/node:1 || {
  root=$(base node)
  binaries "$root" "$(command -v node)"
  import "$root" berth-test/node:1 -c 'CMD ["node"]'
}

# mongo: a TCP listener on 27017 (an echo server). Enough for reachability, not for queries.
current berth-test/mongo:1 || {
  root=$(base mongo)
  mkdir -p "$root/data/db"
  import "$root" berth-test/mongo:1 -c 'EXPOSE 27017' -c 'VOLUME /data/db' \
    -c 'CMD ["nc", "-ll", "-p", "27017", "-e", "cat"]'
}

# redis: the real Redis server and client from Debian.
current berth-test/redis:1 || {
  root=$(base redis)
  binaries "$root" /usr/bin/redis-server /usr/bin/redis-cli
  import "$root" berth-test/redis:1 -c 'EXPOSE 6379' -c 'VOLUME /data' -c 'WORKDIR /data' \
    -c 'CMD ["redis-server", "--protected-mode", "no"]'
}

# Stand-ins replaced by a newer recipe are left untagged: drop them.
docker image prune -f --filter label=berth.testbed >/dev/null
