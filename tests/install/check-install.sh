#!/bin/sh
# Install the build into a temporary prefix, then compile and run every
# program in examples/ with nothing but `cc $(pkg-config --cflags --libs hpcvirt)`,
# exactly as a user of an installed hpcvirt does; and check that each
# INSTALLED_FILE (an absolute path: the man pages, the bash completion) is
# there under the staging directory.
# usage: check-install.sh BUILD_DIR EXAMPLES_DIR [INSTALLED_FILE...]
set -eu
build=$1 examples=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
meson install -C "$build" --no-rebuild --quiet --destdir "$tmp/root" >"$tmp/install.log" 2>&1 || {
  cat "$tmp/install.log"; echo "meson install failed" >&2; exit 1; }
pc=$(find "$tmp/root" -name hpcvirt.pc | head -n 1)
[ -n "$pc" ] || { echo "hpcvirt.pc was not installed" >&2; exit 1; }
# The copy lives under $tmp/root instead of its configured prefix: point
# pkg-config's prefix variable there (what a relocated install does).
prefix=$(PKG_CONFIG_PATH="$(dirname "$pc")" pkg-config --variable=prefix hpcvirt)
pkgconfig() { PKG_CONFIG_PATH="$(dirname "$pc")" pkg-config --define-variable=prefix="$tmp/root$prefix" "$@"; }
flags=$(pkgconfig --cflags --libs hpcvirt)
echo "pkg-config --cflags --libs hpcvirt: $flags"
libdir=$(pkgconfig --variable=libdir hpcvirt)
[ -e "$libdir/libhpcvirt.so.1" ] || { echo "libhpcvirt.so.1 missing in $libdir" >&2; exit 1; }
for h in hpcvirt.h version.h; do
  [ -e "$(pkgconfig --variable=includedir hpcvirt)/hpcvirt/$h" ] || { echo "header $h not installed" >&2; exit 1; }
done
for f in "$@"; do
  [ -f "$tmp/root$f" ] || { echo "$f was not installed" >&2; exit 1; }
  echo "installed: $f"
done
n=0
for src in "$examples"/*.c; do
  name=$(basename "$src" .c)
  # shellcheck disable=SC2086
  ${CC:-cc} -std=c11 -Wall -Wextra -Werror -o "$tmp/$name" "$src" $flags
  echo "== $name"
  rc=0
  (cd "$examples" && LD_LIBRARY_PATH="$libdir" "$tmp/$name") || rc=$?
  case $rc in
  0) n=$((n + 1)) ;;
  77) echo "(example $name skipped itself: not available in this build)" ;;
  *) echo "example $name failed (exit status $rc)" >&2; exit 1 ;;
  esac
done
echo "$n examples built with pkg-config and ran"
