#!/bin/sh
# tests/guest/check-payloads.sh - every guest payload (guest/, built as
# <name>.elf) is what the built-in KVM engine loads (docs/guest-abi.md):
# ELF64, x86-64, ET_EXEC, static (no PT_INTERP, no PT_DYNAMIC, no dynamic
# section), every PT_LOAD page-aligned at or above HV_GUEST_LOAD_MIN
# (0x200000), none both writable and executable, and the entry point inside
# an executable PT_LOAD. Also checks that a dynamic host executable is
# rejected, so the checks themselves are known to bite.
#
# usage: check-payloads.sh PAYLOAD.elf...   (exit 77 = skipped: no readelf)
set -u

LOAD_MIN=$((0x200000))

if ! command -v readelf >/dev/null 2>&1; then
    echo "SKIP: readelf not found (apt-get install binutils)"
    exit 77
fi
[ $# -gt 0 ] || { echo "usage: $0 PAYLOAD.elf..." >&2; exit 2; }

# check FILE: prints "FILE: problem" lines; fails when there is any
check() {
    f=$1
    bad=0
    if ! header=$(LC_ALL=C readelf -h "$f" 2>&1); then
        echo "$f: not an ELF file: $header"
        return 1
    fi
    field() { echo "$header" | sed -n "s/^ *$1: *//p"; }
    class=$(field Class)
    machine=$(field Machine)
    type=$(field Type)
    entry=$(field 'Entry point address')
    [ "$class" = ELF64 ] || { echo "$f: class is '$class', not ELF64"; bad=1; }
    [ "$machine" = "Advanced Micro Devices X86-64" ] ||
        { echo "$f: machine is '$machine', not x86-64"; bad=1; }
    case $type in
    EXEC*) ;;
    *) echo "$f: type is '$type', not EXEC (static, non-PIE)"; bad=1 ;;
    esac

    phdrs=$(LC_ALL=C readelf -lW "$f" 2>&1)
    if echo "$phdrs" | grep -q '^ *INTERP '; then
        echo "$f: has PT_INTERP (dynamically linked)"
        bad=1
    fi
    if echo "$phdrs" | grep -q '^ *DYNAMIC '; then
        echo "$f: has PT_DYNAMIC"
        bad=1
    fi
    if ! LC_ALL=C readelf -d "$f" 2>&1 | grep -q 'no dynamic section'; then
        echo "$f: has a dynamic section"
        bad=1
    fi

    loads=$(echo "$phdrs" | awk '$1 == "LOAD" {
        flags = ""
        for (i = 7; i < NF; i++) flags = flags $i
        print $3, $6, flags
    }')
    if [ -z "$loads" ]; then
        echo "$f: no PT_LOAD segment"
        return 1
    fi
    entry_ok=0
    # shellcheck disable=SC2034
    while read -r vaddr memsz flags; do
        start=$((vaddr))
        end=$((vaddr + memsz))
        if [ "$start" -lt "$LOAD_MIN" ]; then
            echo "$f: PT_LOAD at $vaddr, below 0x200000 (HV_GUEST_LOAD_MIN)"
            bad=1
        fi
        if [ $((start % 4096)) -ne 0 ]; then
            echo "$f: PT_LOAD at $vaddr is not page-aligned"
            bad=1
        fi
        case $flags in
        *W*E* | *E*W*)
            echo "$f: PT_LOAD at $vaddr is writable and executable ($flags)"
            bad=1
            ;;
        esac
        case $flags in
        *E*)
            if [ $((entry)) -ge "$start" ] && [ $((entry)) -lt "$end" ]; then
                entry_ok=1
            fi
            ;;
        esac
    done <<LOADS
$loads
LOADS
    if [ "$entry_ok" -ne 1 ]; then
        echo "$f: entry point $entry is not inside an executable PT_LOAD"
        bad=1
    fi
    return $bad
}

failed=0
for payload in "$@"; do
    if check "$payload"; then
        echo "ok: $payload"
    else
        failed=$((failed + 1))
    fi
done

# The checks must reject an ordinary dynamic host executable.
host_exe=$(command -v readelf)
if check "$host_exe" >/dev/null; then
    echo "self-check: $host_exe (a dynamic host executable) passed the checks"
    failed=$((failed + 1))
else
    echo "ok: $host_exe rejected (self-check)"
fi

if [ "$failed" -ne 0 ]; then
    echo "$failed payload check(s) failed"
    exit 1
fi
echo "$# payloads are static ELF64 x86-64 executables the engine can load"
