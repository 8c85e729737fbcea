#!/bin/sh
# Fail when a C source or header is not formatted per .clang-format.
# Fix with: clang-format -i $(git ls-files '*.c' '*.h')
set -u
cd "$1" || exit 1
files=$(find lib include tools tests examples bench fuzz guest -name '*.[ch]' 2>/dev/null | sort)
[ -n "$files" ] || { echo "no sources found"; exit 1; }
# shellcheck disable=SC2086
clang-format --dry-run --Werror $files || {
  echo "formatting differs from .clang-format: run clang-format -i on the files above" >&2
  exit 1
}
echo "$(echo "$files" | wc -l) files formatted correctly"
