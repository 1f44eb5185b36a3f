#!/usr/bin/env bash
# Makes this machine able to build and run the service images with podman, as Cloud Build and
# Cloud Run would, for `pnpm test:image` and the bench's container row:
#   - podman's settings for a machine without a Docker engine: its own storage (vfs, which needs no
#     kernel overlay support) under the cache folder, runc where it is installed, no ulimits;
#   - the base image deploy/Dockerfile names (node:<major>-slim): pulled when a registry answers,
#     else a stand-in made with debootstrap (Debian bookworm, minbase), Node of that major from the
#     npm registry's node-linux-<arch> package, npm from its own package, and a `node` user (uid 1000),
#     as the official image has them.
# It prints, on stdout, the settings as NAME=value lines for the caller's environment, then
#   TACO_RUN_IMAGE_BASE=pulled|stand-in
# and exits 3, with the reason on stderr, when this machine cannot run containers: the image tests
# then skip, saying why.
#   export $(bash scripts/container-host.sh) && podman images
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "container-host: $*" >&2; }
cannot() { say "$*"; exit 3; }

command -v podman >/dev/null 2>&1 || cannot "podman is not installed (apt-get install podman runc debootstrap)"
[ "$(id -u)" = 0 ] || cannot "podman's vfs storage and runc need root here; run as root"

major="$(sed -n 's/^FROM node:\([0-9][0-9]*\)-slim.*/\1/p' deploy/Dockerfile | head -n 1)"
base="node:${major}-slim"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/taco-run/containers"
mkdir -p "$cache/storage" "$cache/run"

# containers.conf: runc where it is (crun cannot run under a hybrid cgroup hierarchy); no
# default ulimits, which a sandbox may refuse to set.
{
  echo '[containers]'
  echo 'default_ulimits = []'
  echo '[engine]'
  if command -v runc >/dev/null 2>&1; then echo 'runtime = "runc"'; fi
} >"$cache/containers.conf"
cat >"$cache/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$cache/storage"
runroot = "$cache/run"
EOF
export CONTAINERS_CONF="$cache/containers.conf" CONTAINERS_STORAGE_CONF="$cache/storage.conf"
echo "CONTAINERS_CONF=$CONTAINERS_CONF"
echo "CONTAINERS_STORAGE_CONF=$CONTAINERS_STORAGE_CONF"

podman info >/dev/null 2>"$cache/info.err" || cannot "podman does not start here: $(tail -n 1 "$cache/info.err")"

# The stand-in's recipe version, in its label: a stand-in made by an older recipe is made again.
recipe=2
if podman image exists "docker.io/library/$base"; then
  made="$(podman image inspect --format '{{index .Labels "taco-run.stand-in"}}' "docker.io/library/$base")"
  if [ "$made" = "$recipe" ] || [ "$made" = "<no value>" ] || [ -z "$made" ]; then
    say "$base is here (made $(podman image inspect --format '{{.Created}}' "docker.io/library/$base" | cut -c1-19))"
    [ "$made" = "$recipe" ] && echo "TACO_RUN_IMAGE_BASE=stand-in" || echo "TACO_RUN_IMAGE_BASE=pulled"
    exit 0
  fi
  say "the stand-in $base was made by an older recipe ($made); making it again"
  podman rmi --force "docker.io/library/$base" >/dev/null
fi
if podman pull --quiet "docker.io/library/$base" >/dev/null 2>"$cache/pull.err"; then
  say "pulled $base"
  echo "TACO_RUN_IMAGE_BASE=pulled"
  exit 0
fi
say "cannot pull $base ($(tail -n 1 "$cache/pull.err" | cut -c1-160)); making a stand-in"

command -v debootstrap >/dev/null 2>&1 || cannot "debootstrap is not installed, and $base cannot be pulled"
case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) cannot "no stand-in for $(uname -m)" ;;
esac
root="$(mktemp -d "$cache/stand-in.XXXXXX")"
# mktemp's folder is 0700, and it becomes the image's /, which the node user must be able to enter.
chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT
started=$SECONDS
say "debootstrap bookworm (minbase) into $root"
debootstrap --variant=minbase --arch="$arch" --include=libatomic1,ca-certificates bookworm "$root" \
  http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1 ||
  cannot "debootstrap failed; the end of $cache/debootstrap.log: $(tail -n 2 "$cache/debootstrap.log")"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*

node_bin="$(bash scripts/image-node.sh)"
install -m 0755 "$node_bin/node" "$root/usr/local/bin/node"
# npm as Node's release bundles it: its changelog names the version.
npm_version="$(grep -o -m 1 'npm to [0-9][0-9.]*' "$node_bin/../CHANGELOG.md" | cut -d' ' -f3 || true)"
npm_version="${npm_version:-11}"
say "Node $("$node_bin/node" --version), npm $npm_version"
mkdir -p "$root/usr/local/lib/node_modules"
(cd "$root/usr/local/lib/node_modules" && npm pack "npm@$npm_version" --silent >/dev/null &&
  tar xzf npm-*.tgz && mv package npm && rm npm-*.tgz)
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
echo 'node:x:1000:' >>"$root/etc/group"
echo 'node:x:1000:1000::/home/node:/bin/bash' >>"$root/etc/passwd"
echo 'node:*:20000:0:99999:7:::' >>"$root/etc/shadow"
install -d -o 1000 -g 1000 "$root/home/node"
# This machine reaches the npm registry through its own certificate authority: the stand-in
# trusts it, as Cloud Build's workers need not.
install -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/host-ca-certificates.crt"

tar -C "$root" -c . | podman import --quiet \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/host-ca-certificates.crt' \
  --change "LABEL taco-run.stand-in=$recipe" \
  --change 'CMD ["node"]' \
  - "docker.io/library/$base" >/dev/null
say "made the stand-in $base in $((SECONDS - started)) s"
echo "TACO_RUN_IMAGE_BASE=stand-in"
