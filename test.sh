#!/usr/bin/env bash
# The whole suite, from nothing: installs and starts the test bed, builds everything, then runs
# formatting, lints, the Rust tests (unit, real-engine, end-to-end through the real app) and the UI's.
set -euo pipefail
cd "$(dirname "$0")"
step() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }
export PATH="$HOME/.cargo/bin:$PATH"

step "test bed"
tests/bed/setup.sh

step "UI: install, type-check, unit tests, build"
# npm install, not npm ci: npm leaves the other platforms' optional @tauri-apps/cli binaries out of
# the lockfile it writes here, and npm ci rejects such a lockfile. install still keeps to the lock.
(cd ui && npm install --no-audit --no-fund --loglevel=error && npm run --silent check && npm test --silent && npm run --silent build)

step "format and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings

step "build"
cargo build --workspace --bins --locked

step "tests (under Xvfb, for the app's window)"
# The app's WebDriver tests need a display and a session bus; everything else ignores them.
NO_AT_BRIDGE=1 xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- \
  cargo nextest run --workspace --locked --no-fail-fast

step "generated TypeScript bindings are committed"
# Untracked files count too: a new exported type must be committed with its Rust source.
if [ -n "$(git status --porcelain -- ui/src/bindings)" ]; then
  git status --short -- ui/src/bindings >&2
  echo "ui/src/bindings differs from the commit: commit the regenerated TypeScript types" >&2
  exit 1
fi
