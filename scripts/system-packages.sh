#!/bin/sh
# Debian packages the real-pod code and its tests use: runc (OCI runtime), iproute2 (pod network
# namespaces), busybox-static and etcd-server (offline image builds), docker-registry (a local
# registry to pull from), util-linux (flock). Run before the tests (`npm test`'s pretest step).
# As root on Debian it installs what is missing; elsewhere it only says what is missing, and the
# tests that need those packages skip and say why.
pkgs="runc iproute2 busybox-static etcd-server docker-registry util-linux"
command -v dpkg >/dev/null 2>&1 || exit 0
missing=""
for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages:$missing"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null \
    || echo "warning: could not install$missing; tests that need them will skip"
else
  echo "note: Debian packages missing:$missing (install them as root, or tests that need them skip)"
fi
exit 0
