#!/usr/bin/env python3
"""Writes an OCI image archive (oci-archive) from directory trees, one layer per tree, with no
container engine, deterministically: entries sorted, every time SOURCE_DATE_EPOCH, owners 0:0
(group kept for the few paths image.sh gives a group), gzip without name or time, JSON with
sorted keys. Used by scripts/image.sh; prints the manifest digest and the sizes."""
import argparse
import datetime
import gzip
import hashlib
import io
import json
import os
import stat
import sys
import tarfile


def layer_tar(root, epoch):
    """The uncompressed layer tar of the tree at root (paths relative, no './')."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        entries = []
        for d, dirs, files in os.walk(root):
            dirs.sort()
            for name in sorted(dirs + files):
                entries.append(os.path.join(d, name))
        for path in sorted(entries, key=lambda p: os.path.relpath(p, root)):
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            info = tarfile.TarInfo(rel)
            info.mtime = epoch
            info.mode = stat.S_IMODE(st.st_mode)
            info.uid, info.gid = 0, st.st_gid if st.st_gid in (0, 999) else 0
            info.uname = info.gname = ""
            if stat.S_ISLNK(st.st_mode):
                info.type = tarfile.SYMTYPE
                info.linkname = os.readlink(path)
                tar.addfile(info)
            elif stat.S_ISDIR(st.st_mode):
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif stat.S_ISREG(st.st_mode):
                info.size = st.st_size
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            else:
                sys.exit(f"oci.py: {path}: only files, directories and symlinks go into a layer")
    return buf.getvalue()


def gz(data):
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=6) as g:
        g.write(data)
    return out.getvalue()


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def tree_bytes(root, sub=""):
    total = 0
    for d, _, files in os.walk(os.path.join(root, sub)):
        for f in files:
            p = os.path.join(d, f)
            if not os.path.islink(p):
                total += os.path.getsize(p)
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--epoch", type=int, required=True)
    ap.add_argument("--revision", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--runtime", required=True)
    ap.add_argument("--packages", required=True)
    ap.add_argument("--source", default="", help="where the source lives (org.opencontainers.image.source)")
    ap.add_argument("--layer", action="append", required=True, help="name=dir")
    ap.add_argument("--budget-mb", type=int, default=150, help="fail (exit 3) when the uncompressed layers exceed it")
    a = ap.parse_args()
    created = datetime.datetime.fromtimestamp(a.epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    blobs = {}
    layers, diff_ids, history, sizes = [], [], [], []
    for spec in a.layer:
        name, root = spec.split("=", 1)
        raw = layer_tar(root, a.epoch)
        comp = gz(raw)
        blobs[sha(comp)] = comp
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                       "digest": sha(comp), "size": len(comp),
                       "annotations": {"io.pgsidecar.layer": name}})
        diff_ids.append(sha(raw))
        history.append({"created": created, "created_by": "scripts/image.sh: " + name + " layer"})
        sizes.append((name, root, len(raw), len(comp)))
    labels = {
        "org.opencontainers.image.title": "pgsidecar",
        "org.opencontainers.image.description": "Backup agent for PostgreSQL pods (WAL archiving, base"
        " backups, dumps, PITR), restore-init and the static WAL client; the command picks the role",
        "org.opencontainers.image.revision": a.revision,
        "org.opencontainers.image.version": a.version,
        "org.opencontainers.image.created": created,
        "org.opencontainers.image.base.name": "scratch",
        "io.pgsidecar.runtime": a.runtime,
        "io.pgsidecar.debian-packages": a.packages,
    }
    if a.source:
        labels["org.opencontainers.image.source"] = a.source
    config = {
        "created": created,
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "User": "999:999",
            "Env": ["PATH=/opt/pgsidecar/bin:/opt/pgsidecar/jre/bin:/bin",
                    "JAVA_HOME=/opt/pgsidecar/jre", "LANG=C.UTF-8", "TMPDIR=/tmp"],
            "Entrypoint": ["/opt/pgsidecar/bin/pgsidecar"],
            "Cmd": ["agent"],
            "WorkingDir": "/tmp",
            "Labels": labels,
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }
    cfg = canonical(config)
    blobs[sha(cfg)] = cfg
    manifest = canonical({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(cfg),
                   "size": len(cfg)},
        "layers": layers,
        "annotations": {k: v for k, v in labels.items() if k.startswith("org.opencontainers")},
    })
    blobs[sha(manifest)] = manifest
    index = canonical({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": sha(manifest), "size": len(manifest),
                       "annotations": {"org.opencontainers.image.ref.name": "latest"}}],
    })
    files = [("oci-layout", canonical({"imageLayoutVersion": "1.0.0"})), ("index.json", index)]
    files += [("blobs/sha256/" + d.split(":", 1)[1], b) for d, b in sorted(blobs.items())]
    tmp = a.out + ".tmp"
    with tarfile.open(tmp, "w", format=tarfile.GNU_FORMAT) as tar:
        for dname in ("blobs", "blobs/sha256"):
            info = tarfile.TarInfo(dname)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, a.epoch
            tar.addfile(info)
        for name, data in sorted(files):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, a.epoch
            tar.addfile(info, io.BytesIO(data))
    os.replace(tmp, a.out)

    total_raw = sum(s[2] for s in sizes)
    mb = lambda n: f"{n / 1e6:6.1f} MB"
    print(f"image: {a.out}")
    print(f"image: digest {sha(manifest)}")
    budget = a.budget_mb * 1e6
    print(f"image: archive {mb(os.path.getsize(a.out))}, uncompressed layers {mb(total_raw)} (budget {a.budget_mb} MB)")
    for name, root, raw, comp in sizes:
        print(f"image:   layer {name:13s} {mb(raw)} ({100 * raw / total_raw:4.1f} %), gzip {mb(comp)}")
    # what is inside, by kind
    parts = {}
    for name, root, _, _ in sizes:
        if name == "runtime":
            parts["runtime: jlinked JRE"] = tree_bytes(root, "opt/pgsidecar/jre")
            parts["runtime: libraries, bash, PostgreSQL client programs"] = tree_bytes(root) - parts["runtime: jlinked JRE"]
        elif name == "dependencies":
            parts["dependencies: third-party jars"] = tree_bytes(root)
        else:
            jars = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(root)
                       for f in fs if f.endswith(".jar"))
            aot = tree_bytes(root) - jars - tree_bytes(root, "opt/pgsidecar/bin")
            parts["pgsidecar: our jars"] = jars
            parts["pgsidecar: AOT class-data archive"] = aot
            parts["pgsidecar: WAL client + launchers"] = tree_bytes(root, "opt/pgsidecar/bin")
    for k, v in parts.items():
        print(f"image:   {k:52s} {mb(v)} ({100 * v / total_raw:4.1f} %)")
    if total_raw > budget:
        print(f"image: {a.out} is {mb(total_raw).strip()} uncompressed, over the budget of {a.budget_mb} MB: "
              "see the shares above; container/README.md says what each choice costs", file=sys.stderr)
        sys.exit(3)


if __name__ == "__main__":
    main()
