#!/usr/bin/env bash
# Installs what is missing, builds Berth and starts it. With no arguments it opens the bundled demo
# stack; any arguments go to the app (for example: ./run.sh -f path/to/compose.yaml).
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$HOME/.cargo/bin:$PATH"

# The test bed installs the build's system packages, starts a Docker engine if none answers, and
# (on a machine that cannot pull) provides local stand-ins for the demo stack's images.
tests/bed/setup.sh --app
(cd ui && npm install --no-audit --no-fund --loglevel=error && npm run --silent build)
cargo build --locked -p berth

if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "No display: running Berth in a virtual X server (xvfb-run)." >&2
  exec xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- cargo run --locked -q -p berth -- "$@"
fi
exec cargo run --locked -q -p berth -- "$@"
