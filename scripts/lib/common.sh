# scripts/lib/common.sh - shared by scripts/test, scripts/demo and friends:
# the Debian packages the project needs, installing the missing ones, and
# configuring a meson build directory idempotently. Sourced, not run.

# Build and run the library, CLI, Python bindings and examples; scdoc builds
# the man pages; libarchive reads containers' image layers.
HV_BUILD_PACKAGES="meson ninja-build pkg-config gcc g++ binutils libglib2.0-dev libjson-c-dev
  libnuma-dev libvirt-dev libxml2-dev libarchive-dev python3 python3-cffi scdoc"
# Everything scripts/test also uses: tests, ABI tools, style, sanitizers,
# fuzzing, libvirt's schemas and QEMU driver for the libvirt backend tests,
# qemu-img for its linked clones, man (man-db) to render the man pages,
# rsvg-convert (librsvg2-bin) to render the plan and host pictures, iasl and
# acpiexec (acpica-tools) to check the KVM engine's ACPI tables, mypy and a
# venv with pip for the Python package, umoci and skopeo to make and inspect
# the containers' OCI image layouts, mke2fs (e2fsprogs) for their root disks,
# busybox-static for the containers' test images.
HV_TEST_PACKAGES="$HV_BUILD_PACKAGES libcmocka-dev python3-pytest python3-mypy python3-venv
  python3-pip python3-setuptools python3-wheel abigail-tools clang
  libclang-rt-14-dev clang-format valgrind libxml2-utils libvirt-clients libvirt-daemon
  libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils ovmf procps librsvg2-bin man-db
  acpica-tools skopeo umoci e2fsprogs busybox-static"

hv_say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# hv_ensure_packages PKG...: apt-get install those not installed yet.
hv_ensure_packages() {
  missing=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  hv_say "installing Debian packages:$missing"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
      echo "missing packages:$missing - run as root or install them" >&2; return 1; }
    sudo=sudo
  fi
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086
  $sudo apt-get install -y -q --no-install-recommends $missing ||
    { $sudo apt-get update -q && $sudo apt-get install -y -q --no-install-recommends $missing; }
}

# libvirt's QEMU driver (the embedded one the tests use) resolves the
# libvirt-qemu user when it starts, even when qemu.conf runs QEMU as root;
# Debian creates that user only with the libvirt daemon package.
hv_ensure_libvirt_qemu_user() {
  getent passwd libvirt-qemu >/dev/null 2>&1 && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "note: no libvirt-qemu user and not root: the embedded QEMU test will fail" >&2
    return 0
  fi
  hv_say "creating the libvirt-qemu system user (libvirt's QEMU driver needs it)"
  useradd --system --no-create-home --shell /usr/sbin/nologin libvirt-qemu
}

# hv_configure DIR [MESON_OPTION...]: set up DIR, or reconfigure it with the
# options; a DIR configured by an older checkout whose options no longer fit
# is set up afresh (meson setup --wipe).
hv_configure() {
  dir=$1; shift
  log="${TMPDIR:-/tmp}/hpcvirt-meson-$$.log"
  if [ -f "$dir/build.ninja" ]; then
    meson configure "$dir" "$@" >"$log" 2>&1 ||
      meson setup --wipe "$dir" "$@" >"$log" 2>&1 || {
      cat "$log"; rm -f "$log"; echo "meson setup --wipe $dir failed" >&2; return 1; }
  else
    meson setup "$dir" "$@" >"$log" 2>&1 || {
      cat "$log"; rm -f "$log"; echo "meson setup $dir failed" >&2; return 1; }
  fi
  rm -f "$log"
}
