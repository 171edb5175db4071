"""Write-once, content-addressed evidence: a file's name is its sha256, and it never changes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path


class EvidenceError(Exception):
    """Evidence could not be stored or does not match its address."""


class EvidenceStore:
    """Files under `root/sha256/ab/cd/<sha256>`; storing the same bytes twice is a no-op."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise EvidenceError(f"'{sha256[:80]}' is not a sha256 address")
        return self.root / "sha256" / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path(sha256)
        if target.exists():
            return sha256
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o444)
            with contextlib.suppress(FileExistsError):
                os.link(temporary, target)  # atomic, and refuses to replace an existing file
        finally:
            os.unlink(temporary)
        return sha256

    def get(self, sha256: str) -> bytes:
        path = self.path(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise EvidenceError(f"evidence {sha256} is missing") from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise EvidenceError(f"evidence {sha256} does not match its hash: it was altered")
        return data

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def verify(self) -> tuple[int, list[str]]:
        """Re-hash every stored file: how many were checked, and what is wrong with the others."""
        checked, problems = 0, []
        base = self.root / "sha256"
        if not base.is_dir():
            return 0, []
        for path in sorted(base.rglob("*")):
            if path.is_dir():
                continue
            if path.name.startswith(".incoming-"):
                problems.append(f"{path}: an unfinished write was left behind")
                continue
            checked += 1
            try:
                expected = self.path(path.name)
            except EvidenceError:
                problems.append(f"{path}: not a sha256 name")
                continue
            if expected != path:
                problems.append(f"{path}: stored under the wrong directory")
                continue
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
            if digest.hexdigest() != path.name:
                problems.append(f"{path.name}: content does not match its hash (altered)")
            elif path.stat().st_mode & 0o222:
                problems.append(f"{path.name}: writable (evidence must be read-only)")
        return checked, problems
