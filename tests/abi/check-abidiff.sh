#!/bin/sh
# Compare the built library's ABI with the committed baseline (abidw output).
# Added functions are compatible; anything abidiff calls an incompatible
# change (bit 3 of its exit status) fails. Regenerate the baseline on purpose
# with scripts/update-abi-baseline and say why in the commit message.
# usage: check-abidiff.sh LIBRARY BASELINE.abi PUBLIC_HEADERS_DIR
set -u
lib=$1 baseline=$2 headers=$3
if [ ! -f "$baseline" ]; then
  echo "no ABI baseline at $baseline: run scripts/update-abi-baseline" >&2
  exit 1
fi
abidiff --no-added-syms --headers-dir2 "$headers" "$baseline" "$lib"
rc=$?
if [ $((rc & 1)) -ne 0 ] || [ $((rc & 2)) -ne 0 ]; then
  echo "abidiff could not run (status $rc)" >&2
  exit 1
fi
if [ $((rc & 8)) -ne 0 ]; then
  echo "incompatible ABI change against $baseline (abidiff status $rc)" >&2
  exit 1
fi
if [ $((rc & 4)) -ne 0 ]; then
  echo "compatible ABI change (abidiff status $rc): fine, refresh the baseline at release time"
fi
echo "ABI compatible with $baseline"
exit 0
