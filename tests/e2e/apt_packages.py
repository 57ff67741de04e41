"""Debian packages the end-to-end tests need (chromium, redis-server), installed with apt-get when
missing: CI runs as root on a Debian machine, so a fresh clone brings them in by itself; elsewhere
the test that needs one skips, naming why."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


def ensure_packages(packages: list[str], paths: list[Path], log_path: Path) -> str | None:
    """Install ``packages`` unless every one of ``paths`` exists; None when ready, else why not."""
    if all(p.exists() for p in paths):
        return None
    names = " ".join(packages)
    if not shutil.which("apt-get"):
        return f"{names} is not installed and this machine has no apt-get"
    if os.geteuid() != 0:
        return f"{names} is not installed and installing it needs root"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    lock = ["-o", "DPkg::Lock::Timeout=300"]
    with open(log_path, "ab") as log:
        for argv in (["apt-get", *lock, "update", "-qq"], ["apt-get", *lock, "install", "-y", "-qq", *packages]):
            try:
                result = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        env=env, timeout=600, check=False)
            except subprocess.TimeoutExpired:
                return f"{' '.join(argv)} timed out (see {log_path})"
            if result.returncode != 0:
                return f"{' '.join(argv)} failed with exit code {result.returncode} (see {log_path})"
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        return f"apt-get installed {names} but {', '.join(missing)} is missing"
    return None
