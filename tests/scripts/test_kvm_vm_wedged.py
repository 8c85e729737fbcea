"""scripts/lib/kvm-vm-wedged against a stand-in for QEMU's monitor (a Unix
socket that answers "info registers" and "info lapic" as the test scripts
them): the two wedges it knows are named (with the kernel symbol of each
stuck RIP, from a System.map), and a VM that moves, halts as it should or
spins in a guest's own code is not called wedged."""
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "lib" / "kvm-vm-wedged"


def registers(*cpus):
    """QEMU's "info registers" for CPUs given as (rip, halted)."""
    return "".join(f"RAX=0000000000000000 RBX=0000000000000000\nRIP={rip:016x} "
                   f"RFL=00000002 [-------] CPL=0 II=0 A20=1 SMM=0 HLT={int(halted)}\n"
                   for rip, halted in cpus)


def serve(path, answers):
    """Answer each command on the socket at `path` with the next text of answers[command]."""
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(1)

    def run():
        conn, _ = server.accept()
        with conn:
            conn.sendall(b"QEMU 7.2.0 monitor - type 'help' for more information\n(qemu) ")
            buf = b""
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    command = line.decode().strip()
                    queue = answers.get(command, [])
                    text = queue.pop(0) if len(queue) > 1 else (queue[0] if queue else "")
                    conn.sendall(line + b"\r\n" + text.encode() + b"(qemu) ")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return server


def wedged(tmp_path, answers, system_map=None):
    sock = tmp_path / "monitor"
    server = serve(sock, answers)
    args = [sys.executable, str(SCRIPT), str(sock)] + ([str(system_map)] if system_map else [])
    env = dict(os.environ, HV_KVM_VM_WEDGED_LOOK_S="0.2")
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=60, env=env)
    finally:
        server.close()


KERNEL_RIP = 0xffffffff81a3c0d5


def system_map(tmp_path):
    path = tmp_path / "System.map"
    path.write_text("ffffffff81000000 T _stext\nffffffff81a3c000 T csd_lock_wait\n"
                    "ffffffff81a3d000 t next_function\n")
    return path


def test_halted_with_an_interrupt_never_delivered(tmp_path):
    r = wedged(tmp_path, {"info registers": [registers((KERNEL_RIP, True))],
                          "info lapic": ["IRR                 236\n"]})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "every CPU halted" in r.stdout and "vector(s) 236" in r.stdout


def test_halted_with_nothing_pending_is_not_wedged(tmp_path):
    r = wedged(tmp_path, {"info registers": [registers((KERNEL_RIP, True))],
                          "info lapic": ["IRR                 (none)\n"]})
    assert r.returncode == 1, r.stdout


def test_stuck_at_one_kernel_instruction(tmp_path):
    r = wedged(tmp_path, {"info registers": [registers((KERNEL_RIP, False), (KERNEL_RIP, False))],
                          "info lapic": [""]}, system_map(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "every CPU stuck at one instruction of the VM's kernel" in r.stdout
    assert "(csd_lock_wait+0xd5)" in r.stdout


def test_a_module_address_is_shown_bare(tmp_path):
    rip = 0xffffffffc0a01234
    r = wedged(tmp_path, {"info registers": [registers((rip, False))], "info lapic": [""]},
               system_map(tmp_path))
    assert r.returncode == 0, r.stdout
    assert f"RIP {rip:016x})" in r.stdout


def test_a_cpu_that_moves_is_not_wedged(tmp_path):
    r = wedged(tmp_path, {"info registers": [registers((KERNEL_RIP, False)),
                                             registers((KERNEL_RIP + 4, False))],
                          "info lapic": [""]})
    assert r.returncode == 1, r.stdout


def test_a_guest_spinning_in_its_own_code_is_not_wedged(tmp_path):
    # a nested guest's `jmp .` (a low address) is what a test may run on purpose
    r = wedged(tmp_path, {"info registers": [registers((0x100000, False))], "info lapic": [""]})
    assert r.returncode == 1, r.stdout


def test_no_monitor_cannot_tell(tmp_path):
    r = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "none")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "cannot ask QEMU's monitor" in r.stdout
