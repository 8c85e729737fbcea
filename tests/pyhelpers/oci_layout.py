"""OCI image layouts for the container tests: a busybox image made with
umoci (Debian's package; two layers, the second with a whiteout), and
layouts written here byte by byte (tar layers, JSON, sha256 digests) for
the hostile cases umoci would never write: a corrupt blob, a missing
manifest, a layer with ../ or through a symlink out of the root."""
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from typing import Dict, List, Optional, Tuple

BUSYBOX = "/bin/busybox"
APPLETS = ["sh", "echo", "cat", "ls", "pwd", "env", "id", "sleep", "test", "true", "false",
           "printf", "head", "wc", "tr", "mkdir", "rm", "touch"]


def _umoci(*args: str) -> None:
    subprocess.run(["umoci", *args], check=True, capture_output=True, text=True)


def busybox_layout(path: str, tag: str = "latest") -> str:
    """An OCI layout at `path` with one image, `tag`: busybox-static and its
    applets in /bin (layer 1, with /etc/removed, /etc/kept and /work), then
    /etc/removed deleted (layer 2: its whiteout); Cmd ["sh"], Env PATH and
    GREETING=image, WorkingDir /. Made with umoci. Returns path."""
    bundle = path + ".bundle"
    shutil.rmtree(bundle, ignore_errors=True)
    _umoci("init", "--layout", path)
    _umoci("new", "--image", f"{path}:{tag}")
    _umoci("unpack", "--rootless", "--image", f"{path}:{tag}", bundle)
    root = os.path.join(bundle, "rootfs")
    for d in ("bin", "etc", "work", "tmp"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    shutil.copy(BUSYBOX, os.path.join(root, "bin", "busybox"))
    for applet in APPLETS:
        os.symlink("busybox", os.path.join(root, "bin", applet))
    with open(os.path.join(root, "etc", "removed"), "w") as f:
        f.write("a lower layer's file\n")
    with open(os.path.join(root, "etc", "kept"), "w") as f:
        f.write("kept\n")
    with open(os.path.join(root, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n")
    with open(os.path.join(root, "etc", "group"), "w") as f:
        f.write("root:x:0:\nnogroup:x:65534:\n")
    _umoci("repack", "--image", f"{path}:{tag}", bundle)
    # a second layer over the first: unpacked again (the bundle's record of what it holds is
    # the image's, now with layer 1), the file removed, repacked: a layer with its whiteout
    shutil.rmtree(bundle)
    _umoci("unpack", "--rootless", "--image", f"{path}:{tag}", bundle)
    os.unlink(os.path.join(root, "etc", "removed"))
    _umoci("repack", "--image", f"{path}:{tag}", bundle)
    _umoci("config", "--image", f"{path}:{tag}", "--config.cmd", "sh",
           "--config.env", "PATH=/bin", "--config.env", "GREETING=image",
           "--config.workingdir", "/", "--architecture", "amd64", "--os", "linux")
    shutil.rmtree(bundle, ignore_errors=True)
    return path


# ---- layouts written by hand ------------------------------------------------------------


def _blob(layout: str, data: bytes) -> Tuple[str, int]:
    digest = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(layout, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)


Entry = Tuple[str, str, bytes]  # (name, "file" | "dir" | "symlink" | "hardlink", data or target)


def tar_layer(entries: List[Entry]) -> bytes:
    """A gzip'd tar of `entries`, names taken as they are (../ included)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, data in entries:
            info = tarfile.TarInfo(name)
            info.mode = 0o755
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, data.decode()
                tar.addfile(info)
            elif kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, data.decode()
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def hand_layout(path: str, layers: List[bytes], tag: str = "t",
                config: Optional[Dict] = None, corrupt_layer: Optional[int] = None,
                drop_manifest: bool = False, architecture: str = "amd64") -> str:
    """An OCI layout at `path` with the gzip'd tar `layers`; `corrupt_layer`:
    flip a byte of that layer's blob after its digest is taken;
    `drop_manifest`: remove the manifest's blob; `architecture`: the
    config's. Returns path."""
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    descriptors = []
    for data in layers:
        digest, size = _blob(path, data)
        descriptors.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                            "digest": digest, "size": size})
    cfg = {"architecture": architecture, "os": "linux",
           "config": config or {"Cmd": ["sh"], "Env": ["PATH=/bin"]},
           "rootfs": {"type": "layers", "diff_ids": []}}
    cfg_digest, cfg_size = _blob(path, json.dumps(cfg).encode())
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": cfg_digest, "size": cfg_size},
                "layers": descriptors}
    m_digest, m_size = _blob(path, json.dumps(manifest).encode())
    with open(os.path.join(path, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": m_digest,
             "size": m_size, "annotations": {"org.opencontainers.image.ref.name": tag}}]}, f)
    if corrupt_layer is not None:
        blob = os.path.join(path, "blobs", "sha256",
                            descriptors[corrupt_layer]["digest"].split(":")[1])
        with open(blob, "r+b") as f:
            f.seek(20)
            byte = f.read(1)
            f.seek(20)
            f.write(bytes([byte[0] ^ 0xFF]))
    if drop_manifest:
        os.unlink(os.path.join(path, "blobs", "sha256", m_digest.split(":")[1]))
    return path


def busybox_entries() -> List[Entry]:
    """A busybox root file system as tar entries (bin/busybox and its applets)."""
    with open(BUSYBOX, "rb") as f:
        busybox = f.read()
    entries: List[Entry] = [("bin", "dir", b""), ("bin/busybox", "file", busybox)]
    entries += [("bin/" + a, "symlink", b"busybox") for a in APPLETS]
    return entries
