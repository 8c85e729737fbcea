"""bench/bench_common.py - what the Python benchmarks share: the machine a
figure comes from, and this process's anonymous memory."""
import os
import platform


def rss_anon_kib() -> int:
    """RssAnon of this process, in KiB."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0


def machine() -> str:
    """The machine's name, CPU model and count, whether it is a VM, its kernel."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            cpuinfo = f.read()
    except OSError:
        cpuinfo = ""
    models = [line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
              if line.startswith("model name")]
    virt = "a VM" if " hypervisor" in cpuinfo else "bare metal"
    return (f"{platform.node()}: {models[0] if models else 'unknown CPU'}, {os.cpu_count()} CPUs, "
            f"{virt}, Linux {platform.release()}")
