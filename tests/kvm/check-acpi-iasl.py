#!/usr/bin/python3
"""The KVM engine's ACPI tables, checked by ACPICA (Debian's acpica-tools).

Usage: check-acpi-iasl.py ACPI_DUMP

For each test machine of tests/kvm/acpi-test.h, ACPI_DUMP (acpi-dump.c)
writes every table found from the RSDP into a folder; `iasl -d` disassembles
each one and must neither fail nor report anything (an incorrect checksum, an
invalid subtable, a warning or an error), and the disassembly must name what
the machine has: every vCPU's APIC id and proximity domain, every node's
memory, the SLIT's matrix, the IOAPIC, the hardware-reduced FADT, COM1. Where
`acpiexec` is there too, it loads the tables into ACPICA's namespace and
evaluates COM1's _HID and _CRS. iasl 20200925 does not disassemble an RSDP
("does not contain a valid ACPI table"): its two checksums are checked here.

Exits 77 (skipped) when iasl is missing.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

BAD = re.compile(r"incorrect checksum|invalid|warning|error|exception|\*\*\*\*", re.I)

# What acpi-test.h builds: vCPUs per node, threads per core, cores per socket.
MACHINES = {
    "1node": ([4], 1, 1),
    "2node": ([2, 2], 1, 1),
    "16node": ([2] * 16, 1, 1),
    "x2apic": ([160, 160], 2, 10),
}

# The virtio-mmio devices each machine has.
VIRTIO = {"2node": 2}


def distance(nodes, i, j):
    if i == j:
        return 10
    if nodes == 2:
        return 21
    qi, qj = i // 4, j // 4
    return 12 if qi == qj else 20 + 4 * abs(qi - qj)


def bits(n):
    return (n - 1).bit_length() if n > 1 else 0


def apic_id(vcpu, threads, cores):
    tb, cb = bits(threads), bits(cores)
    return (vcpu // threads // cores) << (cb + tb) | ((vcpu // threads) % cores) << tb | vcpu % threads


def field(text, name):
    """Every value of `name : value` lines, in order (`name` is a regular expression)."""
    return re.findall(r"\]\s+%s : ([^\n]*)" % name, text)


def hexes(values):
    return [int(v.split()[0], 16) for v in values]


class Check:
    def __init__(self):
        self.failures = []

    def expect(self, ok, what):
        if not ok:
            self.failures.append(what)
        return ok


def check_rsdp(check, name, data):
    check.expect(len(data) == 36, "%s: rsdp.dat has %d bytes, not 36" % (name, len(data)))
    check.expect(data[:8] == b"RSD PTR ", "%s: RSDP signature %r" % (name, data[:8]))
    check.expect(sum(data[:20]) % 256 == 0, "%s: RSDP checksum (first 20 bytes) wrong" % name)
    check.expect(sum(data) % 256 == 0, "%s: RSDP extended checksum wrong" % name)
    check.expect(data[15] == 2, "%s: RSDP revision %d, not 2" % (name, data[15]))
    check.expect(int.from_bytes(data[24:32], "little") != 0, "%s: RSDP has no XSDT" % name)


def disassemble(check, name, folder, table):
    run = subprocess.run(["iasl", "-d", table + ".dat"], cwd=folder, capture_output=True,
                         text=True, check=False)
    log = run.stdout + run.stderr
    dsl = os.path.join(folder, table + ".dsl")
    if not check.expect(run.returncode == 0 and os.path.exists(dsl),
                        "%s: iasl -d %s.dat failed (%d):\n%s" % (name, table, run.returncode, log)):
        return ""
    with open(dsl, encoding="utf-8", errors="replace") as f:
        text = f.read()
    for line in (log + text).splitlines():
        if BAD.search(line):
            check.failures.append("%s: iasl on %s.dat: %s" % (name, table, line.strip()))
    return text


def check_machine(check, name, folder):
    node_vcpus, threads, cores = MACHINES[name]
    nodes = len(node_vcpus)
    vcpus = sum(node_vcpus)
    ids = [apic_id(v, threads, cores) for v in range(vcpus)]
    domains = [n for n, count in enumerate(node_vcpus) for _ in range(count)]

    with open(os.path.join(folder, "rsdp.dat"), "rb") as f:
        check_rsdp(check, name, f.read())
    text = {t: disassemble(check, name, folder, t)
            for t in ("xsdt", "facp", "dsdt", "apic", "srat", "slit")}
    for table, sig in (("xsdt", "XSDT"), ("facp", "FACP"), ("apic", "APIC"), ("srat", "SRAT"),
                       ("slit", "SLIT")):
        check.expect('Signature : "%s"' % sig in text[table], "%s: %s.dsl is not a %s"
                     % (name, table, sig))

    check.expect(len(field(text["xsdt"], r"ACPI Table Address\s+\d+")) == 4,
                 "%s: the XSDT does not list 4 tables" % name)
    facp = text["facp"]
    check.expect(re.search(r"Hardware Reduced \(V5\) : 1", facp) is not None,
                 "%s: the FADT is not hardware-reduced" % name)
    check.expect(any(int(v, 16) != 0 for v in field(facp, "DSDT Address")),
                 "%s: the FADT has no X_DSDT" % name)

    dsdt = text["dsdt"]
    for want in ('Device (COM1)', 'EisaId ("PNP0501")', "IO (Decode16", "0x03F8",
                 "IRQNoFlags ()", "{4}"):
        check.expect(want in dsdt, "%s: the DSDT has no %s" % (name, want))
    # the virtio-mmio devices (acpi-test.h gives "2node" two): registers and a level GSI
    for i in range(VIRTIO.get(name, 0)):
        device = re.search(r"Device \(VIO%d\)(.*?)\n        \}" % i, dsdt, re.S)
        if not check.expect(device is not None, "%s: the DSDT has no Device (VIO%d)" % (name, i)):
            continue
        body = re.sub(r"\s+", " ", device.group(1))
        for want in ('Name (_HID, "LNRO0005")',
                     "Memory32Fixed (ReadWrite, 0x%08X, // Address Base 0x00000200, " % (0xFEB00000 + 0x1000 * i),
                     "Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive, ,, ) { 0x%08X, }" % (16 + i)):
            check.expect(want in body, "%s: VIO%d has no %s:\n%s" % (name, i, want, body))
    check.expect("VIO%d" % VIRTIO.get(name, 0) not in dsdt,
                 "%s: the DSDT has more virtio devices than %d" % (name, VIRTIO.get(name, 0)))

    madt = text["apic"]
    got_ids = hexes(field(madt, "Local Apic ID") + field(madt, "Processor x2Apic ID"))
    check.expect(sorted(got_ids) == sorted(ids),
                 "%s: MADT APIC ids %s, expected %s" % (name, got_ids[:8], ids[:8]))
    check.expect(field(madt, "Local Apic Address") == ["FEE00000"],
                 "%s: MADT local APIC address %s" % (name, field(madt, "Local Apic Address")))
    check.expect("[I/O APIC]" in madt and "FEC00000" in field(madt, "Address"),
                 "%s: no IOAPIC at 0xFEC00000 in the MADT" % name)
    check.expect("[Interrupt Source Override]" in madt and "00000002" in field(madt, "Interrupt"),
                 "%s: no IRQ0 -> GSI 2 override in the MADT" % name)

    srat = text["srat"]
    cpu_domains, cpu_ids = [], []
    for entry in re.split(r"\n(?=\[[0-9A-F]+h [0-9]+ +1\] +Subtable Type)", srat)[1:]:
        if "[Processor Local APIC/SAPIC Affinity]" in entry:
            low = int(field(entry, r"Proximity Domain Low\(8\)")[0], 16)
            high = int(field(entry, r"Proximity Domain High\(24\)")[0], 16)
            cpu_domains.append(high << 8 | low)
            cpu_ids.append(int(field(entry, "Apic ID")[0], 16))
        elif "[Processor Local x2APIC Affinity]" in entry:
            cpu_domains.append(int(field(entry, "Proximity Domain")[0], 16))
            cpu_ids.append(int(field(entry, "Apic ID")[0], 16))
    check.expect(cpu_ids == ids and cpu_domains == domains,
                 "%s: SRAT CPUs (id, domain) %s, expected %s"
                 % (name, list(zip(cpu_ids, cpu_domains))[:8], list(zip(ids, domains))[:8]))
    memory = [e for e in re.split(r"\n(?=\[[0-9A-F]+h [0-9]+ +1\] +Subtable Type)", srat)
              if "[Memory Affinity]" in e]
    mem_domains = [int(field(e, "Proximity Domain")[0], 16) for e in memory]
    check.expect(mem_domains == list(range(nodes)),
                 "%s: SRAT memory domains %s, expected 0..%d" % (name, mem_domains, nodes - 1))
    check.expect(all(int(field(e, "Address Length")[0], 16) > 0 for e in memory),
                 "%s: an SRAT memory range is empty" % name)

    slit = text["slit"]
    check.expect([int(v, 16) for v in field(slit, "Localities")] == [nodes],
                 "%s: SLIT localities %s, expected %d" % (name, field(slit, "Localities"), nodes))
    rows = {int(i): [int(b, 16) for b in row.split()]
            for i, row in re.findall(r"Locality\s+(\d+) : ((?:[0-9A-F]{2} ?)+)", slit)}
    want = {i: [distance(nodes, i, j) for j in range(nodes)] for i in range(nodes)}
    check.expect(rows == want, "%s: SLIT rows %s, expected %s" % (name, rows, want))


def check_acpiexec(check, name, folder):
    tables = [os.path.join(folder, t + ".dat") for t in ("dsdt", "facp", "apic", "srat", "slit")]
    run = subprocess.run(["acpiexec", "-b", r"evaluate \_SB.COM1._HID; evaluate \_SB.COM1._CRS"]
                         + tables, capture_output=True, text=True, check=False, timeout=60)
    log = run.stdout + run.stderr
    check.expect(run.returncode == 0, "%s: acpiexec failed (%d):\n%s" % (name, run.returncode, log))
    for line in log.splitlines():
        if BAD.search(line):
            check.failures.append("%s: acpiexec: %s" % (name, line.strip()))
    check.expect("000000000105D041" in log, "%s: acpiexec: COM1._HID is not PNP0501" % name)
    check.expect("47 01 F8 03 F8 03 01 08 22 10 00 79 00" in log,
                 "%s: acpiexec: COM1._CRS is not IO 0x3F8-0x3FF, IRQ 4:\n%s" % (name, log))


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    if shutil.which("iasl") is None:
        print("SKIP: iasl not found: install acpica-tools (scripts/lib/common.sh lists it)")
        return 77
    check = Check()
    for name in MACHINES:
        with tempfile.TemporaryDirectory(prefix="hv-acpi-") as folder:
            dump = subprocess.run([sys.argv[1], folder, name], capture_output=True, text=True,
                                  check=False)
            if not check.expect(dump.returncode == 0, "%s: acpi-dump failed: %s"
                                % (name, dump.stderr.strip())):
                continue
            check_machine(check, name, folder)
            if shutil.which("acpiexec"):
                check_acpiexec(check, name, folder)
        print("%s: checked" % name)
    if not shutil.which("acpiexec"):
        print("note: acpiexec not found: the DSDT was not loaded into ACPICA's namespace")
    for failure in check.failures:
        print("FAIL:", failure)
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
