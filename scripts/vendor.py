"""Refresh or check the browser assets vendored under advocacy/static/vendor/.

Every script and stylesheet a page loads is served by the service itself. This script
fetches each package below from the npm registry with ``npm pack`` (the ordinary client,
so the registry's integrity check applies), copies the listed files and the licence
next to them, and writes ``vendor.lock.json``: package, version, licence, and the sha256
of every file.

    python scripts/vendor.py           # fetch the newest version in each range, rewrite the lock
    python scripts/vendor.py --check   # verify the files on disk against the lock (no network)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VENDOR = Path(__file__).resolve().parent.parent / "advocacy" / "static" / "vendor"
LOCK = VENDOR / "vendor.lock.json"

# package -> (version range, {path in the npm tarball: path under vendor/<package>/})
PACKAGES: dict[str, tuple[str, dict[str, str]]] = {
    # Pinned to 2.0.x: htmx 4 is a rewrite with different defaults.
    "htmx.org": ("~2.0.0", {"package/dist/htmx.min.js": "htmx.min.js"}),
    "chart.js": ("^4.4.0", {"package/dist/chart.umd.min.js": "chart.umd.min.js"}),
    "swagger-ui-dist": (
        "^5.17.0",
        {
            "package/swagger-ui-bundle.js": "swagger-ui-bundle.js",
            "package/swagger-ui.css": "swagger-ui.css",
        },
    ),
}
LICENCE_NAMES = ("package/LICENSE", "package/LICENSE.md", "package/LICENSE.txt")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pack(spec: str, workdir: Path) -> Path:
    out = subprocess.run(
        ["npm", "pack", spec, "--json", "--pack-destination", str(workdir)],
        check=True,
        capture_output=True,
        text=True,
        cwd=workdir,
    )
    return workdir / json.loads(out.stdout)[0]["filename"]


def refresh() -> None:
    entries = []
    with tempfile.TemporaryDirectory() as tmp:
        for package, (version_range, files) in PACKAGES.items():
            tarball = _pack(f"{package}@{version_range}", Path(tmp))
            target = VENDOR / package
            target.mkdir(parents=True, exist_ok=True)
            with tarfile.open(tarball) as archive:
                meta = json.load(archive.extractfile("package/package.json"))  # type: ignore[arg-type]
                names = set(archive.getnames())
                wanted = dict(files)
                for name in LICENCE_NAMES:
                    if name in names:
                        wanted[name] = "LICENSE"
                        break
                locked = []
                for source, dest in sorted(wanted.items(), key=lambda item: item[1]):
                    member = archive.extractfile(source)
                    if member is None:
                        raise SystemExit(f"{package}: {source} missing from the tarball")
                    (target / dest).write_bytes(member.read())
                    locked.append({"path": f"{package}/{dest}", "sha256": sha256(target / dest)})
            entries.append(
                {
                    "package": package,
                    "version": meta["version"],
                    "licence": meta.get("license", "unknown"),
                    "range": version_range,
                    "files": locked,
                }
            )
            print(f"{package} {meta['version']} ({meta.get('license')})")
    LOCK.write_text(json.dumps({"packages": entries}, indent=2) + "\n")


def check() -> list[str]:
    """Problems found: files missing or different from the lock."""
    problems = []
    for entry in json.loads(LOCK.read_text())["packages"]:
        for item in entry["files"]:
            path = VENDOR / item["path"]
            if not path.exists():
                problems.append(f"missing: {item['path']}")
            elif sha256(path) != item["sha256"]:
                problems.append(f"sha256 differs from the lock: {item['path']}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify, do not fetch")
    if parser.parse_args().check:
        problems = check()
        print("\n".join(problems) or "vendored assets match the lock")
        sys.exit(1 if problems else 0)
    refresh()


if __name__ == "__main__":
    main()
