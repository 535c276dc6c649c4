#!/usr/bin/env bash
# install-tools.sh NO_INSTALL WORK: install the Debian packages whose command the bench needs
# and is missing (as root; otherwise say what to run). Exit 1 when an install failed.
set -euo pipefail
no_install=$1 work=$2
log() { printf '[bench] %s\n' "$*" >&2; }

# command:package  (stunnel4 installs /usr/bin/stunnel4 and, via alternatives, stunnel)
want_tools="nginx:nginx tinyproxy:tinyproxy wrk:wrk go:golang-go curl:curl openssl:openssl
  stunnel:stunnel4 mitmdump:mitmproxy squid:squid ss:iproute2"
missing=()
for tp in $want_tools; do command -v "${tp%%:*}" >/dev/null 2>&1 || missing+=("${tp#*:}"); done
((${#missing[@]})) || exit 0
if [[ $no_install == 1 ]]; then
  log "missing packages (not installing, --no-install): ${missing[*]}; the proxies that need them will fail"
  exit 0
fi
if [[ $(id -u) != 0 ]]; then
  log "missing packages, not root so not installing: ${missing[*]}"
  log "  run: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
  exit 0
fi
log "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$work/apt-install.log" 2>&1 ||
  { tail -20 "$work/apt-install.log" >&2; log "apt-get install failed (log: $work/apt-install.log)"; exit 1; }
# Debian's packages start their daemons as system services where the init system lets them
# (systemd; not here in a container with policy-rc.d). The harness starts its own
# nginx/tinyproxy/squid/stunnel on private ports: stop and disable those we just installed, so
# none is left running as a system service. A failure here is reported: a service left running
# may hold a port the harness needs (the harness then says which port is busy).
for svc in nginx tinyproxy squid stunnel4; do
  [[ " ${missing[*]} " == *" $svc "* ]] || continue
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
    systemctl disable --now "$svc" >/dev/null 2>&1 || log "WARNING: systemctl disable --now $svc failed"
  elif [[ -x /etc/init.d/$svc ]]; then
    # not every init script has "status", so stop unconditionally; a stop of a service that
    # is not running fails on some scripts, hence the check of what is left afterwards
    service "$svc" stop >/dev/null 2>&1 || log "note: 'service $svc stop' exited non-zero (it may not have been running)"
    update-rc.d "$svc" disable >/dev/null 2>&1 || log "WARNING: update-rc.d $svc disable failed"
  fi
done
if pgrep -x nginx >/dev/null; then
  log "WARNING: an nginx is running (a system service?); the harness needs ports ${BENCH_UP_HTTP_PORT:-18080}/${BENCH_UP_HTTPS_PORT:-18443} free"
fi
exit 0
