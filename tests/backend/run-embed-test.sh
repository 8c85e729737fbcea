#!/bin/sh
# Run test-libvirt-embed under a private libvirt root: qemu.conf makes QEMU
# run as root with its output in files; whatever QEMU the test leaves behind
# (a failing assertion skips its cleanup) is killed, and the root removed.
# usage: run-embed-test.sh TEST_BINARY
set -u
test_binary=$1
root=$(mktemp -d /tmp/hv-embed.XXXXXX)
cleanup() {
  pkill -KILL -f -- "$root" 2>/dev/null
  sleep 0.2
  rm -rf "$root"
}
trap cleanup EXIT INT TERM
if ! command -v qemu-system-x86_64 >/dev/null; then
  echo "SKIP: qemu-system-x86_64 is not installed (package qemu-system-x86)"
  exit 77
fi
if [ "$(id -u)" -eq 0 ] && ! getent passwd libvirt-qemu >/dev/null; then
  echo "libvirt's QEMU driver needs the libvirt-qemu user even when QEMU runs as root:"
  echo "  useradd --system --no-create-home --shell /usr/sbin/nologin libvirt-qemu"
  exit 1
fi
mkdir -p "$root/etc"
cat >"$root/etc/qemu.conf" <<CONF
stdio_handler = "file"
user = "root"
group = "root"
security_driver = "none"
CONF
"$test_binary" "$root"
