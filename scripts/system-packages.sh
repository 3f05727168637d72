#!/bin/sh
# Debian packages the real-pod code and its tests use: runc (OCI runtime), iproute2 (pod network
# namespaces), busybox-static (the runtime probe and offline image builds), util-linux (flock,
# nsenter, script: exec TTYs), nftables (Service virtual IPs); for the tests also etcd-server
# (offline image builds) and docker-registry (a local registry to pull from).
# `npm test` runs it before the tests; `./bin/ordinal.js up` runs it with the argument "runtime"
# (only what real pods need) when started as root.
# As root on Debian it installs what is missing; elsewhere it only says what is missing, and the
# tests that need those packages skip and say why.
pkgs="runc iproute2 busybox-static util-linux nftables"
[ "$1" = runtime ] || pkgs="$pkgs etcd-server docker-registry"
command -v dpkg >/dev/null 2>&1 || exit 0
missing=""
for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages:$missing"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null \
    || echo "warning: could not install$missing: tests that need them skip, ordinal up falls back to simulated nodes"
else
  echo "note: Debian packages missing:$missing (install them as root, or tests that need them skip)"
fi
exit 0
