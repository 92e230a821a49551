#!/usr/bin/env python3
"""Refresh the vendored third-party JS/CSS of the offline map pages (``make assets``).

The files ship inside the package (``planner/maps/_assets/``, wheel included), so
installing and running the planner never needs npm. Maintainers run this script to
move to another pinned version or to re-verify the vendored copy: for every package in
``scripts/assets.lock.json`` it runs ``npm pack <name>@<version>`` (the npm registry),
checks the tarball's sha512 against the recorded ``integrity`` (``npm view
<name>@<version> dist.integrity``), and extracts the listed files as
``<name>@<version>/<file>`` (licence files included). ``manifest.json`` records the
sha256 of every extracted file; :mod:`planner.maps` checks them before inlining.

Safe to repeat: packages already present with the recorded checksums are skipped.
Standard library only; needs ``npm`` on the PATH (``--check`` does not).

Usage::

    python scripts/fetch_assets.py              # refresh planner/maps/_assets/
    python scripts/fetch_assets.py --check      # verify the vendored files, fetch nothing
    python scripts/fetch_assets.py --force      # refetch everything
    python scripts/fetch_assets.py --record     # fill in missing integrity from `npm view`
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "scripts" / "assets.lock.json"
DEST = Path(os.environ.get("PLANNER_ASSETS") or ROOT / "planner" / "maps" / "_assets")
MANIFEST = "manifest.json"


class FetchError(Exception):
    """Fetching or verifying an asset failed; the message says what to do."""


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sri_sha512(data: bytes) -> str:
    """Subresource-integrity string (``sha512-<base64>``) as npm records it."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def read_lock(path: Path) -> list[dict]:
    """The packages of the lock file, checked for the required keys."""
    lock = json.loads(path.read_text(encoding="utf-8"))
    pkgs = lock.get("packages")
    if not isinstance(pkgs, list) or not pkgs:
        raise FetchError(f"{path}: 'packages' must be a non-empty list")
    for p in pkgs:
        for key in ("name", "version", "files"):
            if not p.get(key):
                raise FetchError(f"{path}: package {p.get('name', '?')} lacks '{key}'")
        if p["version"].startswith(("^", "~", ">", "<", "*")) or p["version"] == "latest":
            raise FetchError(f"{path}: {p['name']} must be pinned to an exact version")
    return pkgs


def npm() -> str:
    """Path of the npm executable, or a FetchError saying how to install it."""
    exe = shutil.which("npm")
    if not exe:
        raise FetchError(
            "npm is not on the PATH. Install Node.js and npm (Debian: "
            "`apt-get install -y npm`), then run `make assets` again."
        )
    return exe


def run_npm(args: list[str], cwd: Path) -> str:
    """Run npm quietly; stdout, or a FetchError with npm's message."""
    env = {**os.environ, "npm_config_update_notifier": "false", "npm_config_fund": "false"}
    proc = subprocess.run(
        [npm(), *args], cwd=cwd, capture_output=True, text=True, env=env, check=False
    )
    if proc.returncode != 0:
        err = "\n".join(
            line for line in proc.stderr.splitlines() if "Unknown user config" not in line
        )
        raise FetchError(f"`npm {' '.join(args)}` failed:\n{err.strip()}")
    return proc.stdout


def pack(name: str, version: str, workdir: Path) -> Path:
    """Download ``name@version`` from the registry as a tarball with ``npm pack``."""
    before = set(workdir.glob("*.tgz"))
    run_npm(
        ["pack", f"{name}@{version}", "--ignore-scripts", "--silent", "--json"],
        cwd=workdir,
    )
    new = sorted(set(workdir.glob("*.tgz")) - before)
    if len(new) != 1:
        raise FetchError(f"npm pack {name}@{version} produced {len(new)} tarballs")
    return new[0]


def extract(tgz: Path, files: list[str], dest: Path) -> dict[str, str]:
    """Extract ``package/<file>`` for each listed file into ``dest``; sha256 per file."""
    out: dict[str, str] = {}
    with tarfile.open(tgz, "r:gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
        for f in files:
            if f.startswith("/") or ".." in Path(f).parts:
                raise FetchError(f"unsafe path in lock file: {f}")
            m = members.get(f"package/{f}")
            if m is None or not m.isfile():
                raise FetchError(f"{tgz.name} has no regular file package/{f}")
            src = tar.extractfile(m)
            assert src is not None
            data = src.read()
            target = dest / f
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            out[f] = hashlib.sha256(data).hexdigest()
    return out


def load_manifest(dest: Path) -> dict:
    """The cache manifest, or an empty one."""
    p = dest / MANIFEST
    if p.is_file():
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except ValueError:
            pass
    return {"packages": {}, "files": {}}


def cached_ok(pkg: dict, dest: Path, manifest: dict) -> bool:
    """True if the cache holds this package (same integrity) with unchanged files."""
    folder = f"{pkg['name']}@{pkg['version']}"
    if manifest.get("packages", {}).get(folder, {}).get("integrity") != pkg.get("integrity"):
        return False
    for f in pkg["files"]:
        rel = f"{folder}/{f}"
        want = manifest.get("files", {}).get(rel)
        p = dest / rel
        if want is None or not p.is_file() or sha256_file(p) != want:
            return False
    return True


def record(lock_path: Path) -> None:
    """Fill in missing ``integrity`` fields with ``npm view <pkg>@<ver> dist.integrity``."""
    lock = json.loads(lock_path.read_text(encoding="utf-8"))
    changed = False
    for p in lock["packages"]:
        if p.get("integrity"):
            continue
        out = run_npm(["view", f"{p['name']}@{p['version']}", "dist.integrity"], cwd=ROOT)
        p["integrity"] = out.strip()
        print(f"recorded {p['name']}@{p['version']}: {p['integrity']}")
        changed = True
    if changed:
        lock_path.write_text(json.dumps(lock, indent=2, ensure_ascii=False) + "\n", "utf-8")


def fetch(lock_path: Path, dest: Path, *, force: bool = False, check: bool = False) -> int:
    """Fetch, verify and extract every package; return the number fetched."""
    pkgs = read_lock(lock_path)
    dest.mkdir(parents=True, exist_ok=True)
    manifest = load_manifest(dest)
    manifest.setdefault("packages", {})
    manifest.setdefault("files", {})
    fetched = 0
    with tempfile.TemporaryDirectory(prefix="planner-assets-") as tmp:
        work = Path(tmp)
        for pkg in pkgs:
            folder = f"{pkg['name']}@{pkg['version']}"
            if not pkg.get("integrity"):
                raise FetchError(
                    f"{lock_path}: {folder} has no 'integrity'; run "
                    "`python scripts/fetch_assets.py --record` and review the change"
                )
            if not force and cached_ok(pkg, dest, manifest):
                print(f"ok       {folder}")
                continue
            if check:
                raise FetchError(f"{dest}: {folder} is missing or changed; run `make assets`")
            tgz = pack(pkg["name"], pkg["version"], work)
            got = sri_sha512(tgz.read_bytes())
            if got != pkg["integrity"]:
                raise FetchError(
                    f"checksum mismatch for {folder}: the registry sent {got}, the lock "
                    f"file records {pkg['integrity']}. Nothing was extracted."
                )
            staging = work / folder
            hashes = extract(tgz, pkg["files"], staging)
            target = dest / folder
            if target.exists():
                shutil.rmtree(target)
            shutil.move(str(staging), target)
            for rel in [r for r in manifest["files"] if r.startswith(folder + "/")]:
                del manifest["files"][rel]
            manifest["files"].update({f"{folder}/{f}": h for f, h in hashes.items()})
            manifest["packages"][folder] = {
                "integrity": pkg["integrity"],
                "license": pkg.get("license", ""),
            }
            fetched += 1
            print(f"fetched  {folder} ({len(hashes)} files, {pkg['integrity'][:23]}…)")
    # packages no longer in the lock file leave the folder and the manifest
    keep = {f"{p['name']}@{p['version']}" for p in pkgs}
    for folder in [f for f in manifest["packages"] if f not in keep]:
        if check:
            raise FetchError(f"{dest}: {folder} is not in the lock file; run `make assets`")
        shutil.rmtree(dest / folder, ignore_errors=True)
        del manifest["packages"][folder]
        for rel in [r for r in manifest["files"] if r.startswith(folder + "/")]:
            del manifest["files"][rel]
        print(f"removed  {folder}")
    manifest["lock_sha256"] = sha256_file(lock_path)
    tmp_manifest = dest / (MANIFEST + ".tmp")
    tmp_manifest.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", "utf-8")
    os.replace(tmp_manifest, dest / MANIFEST)
    return fetched


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lock", type=Path, default=LOCK, help="lock file (default: %(default)s)")
    ap.add_argument("--dest", type=Path, default=DEST, help="cache folder (default: %(default)s)")
    ap.add_argument("--force", action="store_true", help="refetch even if cached")
    ap.add_argument("--check", action="store_true", help="verify the cache, fetch nothing")
    ap.add_argument(
        "--record", action="store_true", help="fill in missing integrity with `npm view`"
    )
    args = ap.parse_args(argv)
    try:
        if args.record:
            record(args.lock)
        n = fetch(args.lock, args.dest, force=args.force, check=args.check)
    except (FetchError, OSError, tarfile.TarError, ValueError) as e:
        print(f"fetch_assets: {e}", file=sys.stderr)
        return 1
    print(f"assets ready in {args.dest} ({n} fetched)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
