#!/usr/bin/env bash
# Regenerates every icon size Tauri's bundlers need from the one source, berth.svg.
# Uses the Tauri CLI from ui/'s dev dependencies (npm ci in ui/ first). Desktop sizes only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
(cd "$here/../ui" && npx tauri icon "$here/berth.svg" -o "$here")
rm -rf "$here/android" "$here/ios"
