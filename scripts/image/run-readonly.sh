#!/usr/bin/env bash
# Runs an image the way `docker run --read-only --tmpfs /tmp` or a Pod with
# readOnlyRootFilesystem does, which `buildah run` (1.28) cannot: the image's root filesystem
# mounted read-only, a tmpfs on /tmp, a new PID namespace so the entrypoint is PID 1 (and only
# gets SIGTERM if it handles it), the image's User, Env, WorkingDir and Entrypoint. Host network.
#
# Usage: run-readonly.sh ROOTFS USER WORKDIR ENVFILE -- COMMAND...
#   ROOTFS   the image's root, e.g. from `buildah mount`; never written to
#   USER     uid:gid
#   ENVFILE  KEY=VALUE lines, the image's Env
# Runs in the foreground; exits with the command's status (signals re-raised by unshare).
set -euo pipefail
[[ $# -ge 6 && "$5" == "--" ]] || { echo "usage: $0 ROOTFS USER WORKDIR ENVFILE -- COMMAND..." >&2; exit 2; }
rootfs=$1 user=$2 workdir=$3 envfile=$4
shift 5

mapfile -t envs <"$envfile"
# Everything below runs in private mount and PID namespaces: the mounts vanish with the process.
# shellcheck disable=SC2016 # the inner script takes its values as arguments
exec unshare --mount --propagation private --pid --fork --kill-child -- \
  bash -c '
    set -euo pipefail
    rootfs=$1 user=$2 workdir=$3 nenv=$4; shift 4
    envs=("${@:1:nenv}"); shift "$nenv"
    # Bind the root onto itself and make that read-only (visible only in this namespace).
    root=$rootfs
    mount --bind "$root" "$root"
    mount -o remount,bind,ro "$root"
    mount -t tmpfs -o mode=1777,nosuid,nodev,size=64m tmpfs "$root/tmp"
    mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
    mount --rbind /dev "$root/dev"
    for f in /etc/resolv.conf /etc/hosts; do
      if [[ -e "$f" && -e "$root$f" ]]; then mount --bind -o ro "$f" "$root$f"; fi
    done
    # chroot drops to USER, then env (in the image) clears the environment and execs the
    # command: no shell stays behind, so the command is PID 1 in this namespace.
    exec chroot --userspec="$user" "$root" /usr/bin/env -i -C "$workdir" "${envs[@]}" "$@"
  ' run-readonly "$rootfs" "$user" "$workdir" "${#envs[@]}" "${envs[@]}" "$@"
