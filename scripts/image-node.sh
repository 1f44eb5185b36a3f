#!/usr/bin/env bash
# Prints the folder of a `node` binary of the major the image runs (deploy/Dockerfile's
# FROM node:<major>-slim), installing it first from the npm registry's node-linux-<arch>
# package into a cache folder: the one registry this project may download from.
#   PATH="$(bash scripts/image-node.sh):$PATH" pnpm test
set -euo pipefail
cd "$(dirname "$0")/.."

major="$(sed -n 's/^FROM node:\([0-9][0-9]*\)-slim.*/\1/p' deploy/Dockerfile | head -n 1)"
if [ -z "$major" ]; then
  echo "image-node: no FROM node:<major>-slim line in deploy/Dockerfile" >&2
  exit 1
fi
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "image-node: no node-linux package for $(uname -m)" >&2; exit 1 ;;
esac
folder="${XDG_CACHE_HOME:-$HOME/.cache}/taco-run/node-${major}-linux-${arch}"
if [ ! -x "$folder/package/bin/node" ]; then
  echo "image-node: installing node-linux-${arch}@${major} from the npm registry into ${folder}" >&2
  rm -rf "$folder" && mkdir -p "$folder"
  (cd "$folder" && npm pack "node-linux-${arch}@${major}" --silent >/dev/null && tar xzf node-linux-*.tgz && rm node-linux-*.tgz)
fi
echo "$folder/package/bin"
