#!/usr/bin/env bash
# Makes the demo stack's images available: an image already present is kept; a missing one is
# pulled; where the pull fails (no registry reachable, as on the test machines) the test bed's
# stand-in is tagged with the public name, so the demo runs anyway. `docker pull NAME` later
# replaces a stand-in with the real image.
set -euo pipefail
declare -A stand_ins=(
  [nginx:alpine]=berth-test/nginx:1
  [node:20-alpine]=berth-test/node:1
  [mongo:7]=berth-test/mongo:1
  [redis:7-alpine]=berth-test/redis:1
)
for image in "${!stand_ins[@]}"; do
  stand_in=${stand_ins[$image]}
  label=$(docker image inspect -f '{{index .Config.Labels "berth.testbed"}}' "$image" 2>/dev/null) || label=absent
  case $label in
    absent) ;;                      # not here: pull it, or stand in for it
    "") continue ;;                 # a real image: never replace it
    *) docker tag "$stand_in" "$image"; continue ;;  # an earlier stand-in: keep it current
  esac
  if timeout 60 docker pull -q "$image" >/dev/null 2>&1; then
    echo "pulled $image" >&2
  else
    docker tag "$stand_in" "$image"
    echo "$image cannot be pulled here: tagged the test bed's stand-in $stand_in" >&2
  fi
done
