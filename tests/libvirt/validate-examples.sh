#!/bin/sh
# tests/libvirt/validate-examples.sh - every example spec (examples/specs/),
# planned on the fixture host its README names, printed as libvirt domain
# XML by `hpcvirt plan --xml` for both domain types (kvm, qemu) and checked
# with libvirt's own validator (virt-xml-validate, libvirt-clients) against
# the schemas in /usr/share/libvirt/schemas. Fails when a document is
# rejected or the tool fails; specs with paravirtual RDMA must be refused
# with HV_E_UNSUPPORTED (libvirt cannot express pvrdma), and are validated
# once more without their pvrdma attachments.
#
# usage: validate-examples.sh HPCVIRT_CLI SOURCE_ROOT   (exit 77 = skipped)
set -u

cli=$1
src=$2
fixtures=${HV_TEST_FIXTURES:-$src/tests/fixtures}
specs=$src/examples/specs

if ! command -v virt-xml-validate >/dev/null 2>&1; then
    echo "SKIP: virt-xml-validate not found (apt-get install libvirt-clients)"
    exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

passed=0
refused=0
failed=0

fail() {
    echo "FAIL: $*"
    failed=$((failed + 1))
}

# validate NAME SPEC HOST: both domain types
validate() {
    name=$1
    spec=$2
    host=$3
    for type in kvm qemu; do
        out=$tmp/$name-$type.xml
        "$cli" plan "$spec" --host-root "$fixtures/hosts/$host" --xml --domain-type "$type" \
            >"$out" 2>"$tmp/err"
        rc=$?
        if [ $rc -ne 0 ]; then
            if [ $rc -eq 1 ] && grep -q 'pvrdma.*\[HV_E_UNSUPPORTED\]' "$tmp/err"; then
                echo "refused as documented: $name ($type): pvrdma has no libvirt domain form"
                refused=$((refused + 1))
            else
                fail "$name ($type): hpcvirt plan --xml exited $rc: $(cat "$tmp/err")"
            fi
            continue
        fi
        if virt-xml-validate "$out" domain >"$tmp/validate" 2>&1; then
            echo "valid: $name on $host as a $type domain"
            passed=$((passed + 1))
        else
            fail "$name ($type) is rejected by libvirt's schema:"
            sed 's/^/    /' "$tmp/validate"
            grep -v 'hpcvirt:plan' "$out" | sed 's/^/    | /'
        fi
    done
}

# The table in examples/specs/README.md: | `SPEC.json` | `HOST` | ... |
sed -n 's/^| *`\([^`]*\.json\)` *| *`\([^`]*\)` *|.*/\1 \2/p' "$specs/README.md" >"$tmp/pairs"
for spec in "$specs"/*.json; do
    base=$(basename "$spec")
    grep -q "^$base " "$tmp/pairs" || fail "$base has no fixture host in examples/specs/README.md"
done
[ -s "$tmp/pairs" ] || fail "no spec/host pairs found in examples/specs/README.md"

while read -r base host; do
    [ -f "$specs/$base" ] || {
        fail "examples/specs/README.md names $base, which does not exist"
        continue
    }
    name=${base%.json}
    validate "$name" "$specs/$base" "$host"
    # the rest of a VM with pvrdma (the default RDMA mode) must still be a valid domain
    if /usr/bin/python3 - "$specs/$base" "$tmp/$name-no-pvrdma.json" <<'EOF'; then
import json, sys
spec = json.load(open(sys.argv[1]))
rdma = spec.get("rdma", [])
spec["rdma"] = [r for r in rdma if r.get("mode", "pvrdma") != "pvrdma"]
json.dump(spec, open(sys.argv[2], "w"))
sys.exit(0 if len(spec["rdma"]) < len(rdma) else 1)
EOF
        validate "$name-without-pvrdma" "$tmp/$name-no-pvrdma.json" "$host"
    fi
done <"$tmp/pairs"

echo "$passed documents valid, $refused refused as documented, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
