"""Writes the site's files, only those whose content changed, and remembers what it wrote.

The manifest (`.build-manifest.json` in the site folder) maps each file to two hashes:
`key`, a hash of the inputs the file was made from (so a build can skip rendering it), and
`sha`, a hash of its bytes (so a rendered file that came out the same is not rewritten).
It lives inside the site folder so that deleting the folder also forgets the manifest.
Files that a build no longer produces are deleted at the end.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

MANIFEST_NAME = ".build-manifest.json"
MANIFEST_VERSION = 1


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class SiteWriter:
    def __init__(self, root: Path, *, trust_keys: bool = True) -> None:
        self.root = root
        self.old = self._read_manifest()
        self.trust_keys = trust_keys  # False: render everything again (still writing only changed bytes)
        self.new: dict[str, dict[str, str]] = {}
        self.written: list[str] = []
        self.unchanged = 0
        self._prefix = str(root) + os.sep
        self._made_dirs: set[str] = set()

    def _exists(self, path: str) -> bool:
        return os.path.isfile(self._prefix + path)  # os.path: a third of pathlib's cost, 20,000 times

    def _read_manifest(self) -> dict[str, dict[str, str]]:
        try:
            data = json.loads((self.root / MANIFEST_NAME).read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return data.get("files", {}) if data.get("version") == MANIFEST_VERSION else {}

    def is_current(self, path: str, key: str) -> bool:
        """The file exists and was made from inputs with this key: keep it, skip rendering."""
        entry = self.old.get(path)
        if not self.trust_keys or entry is None or entry.get("key") != key or not self._exists(path):
            return False
        self.new[path] = entry
        self.unchanged += 1
        return True

    def keep_tree(self, prefix: str, key: str) -> bool:
        """Keep every file under `prefix` if all were made from inputs with this key and exist."""
        old = {path: self.old[path] for path in self._old_tree(prefix)}
        if not self.trust_keys or not old or any(entry.get("key") != key for entry in old.values()):
            return False
        if not all(self._exists(path) for path in old):
            return False
        self.new.update(old)
        self.unchanged += len(old)
        return True

    def _old_tree(self, prefix: str) -> list[str]:
        # Group the manifest by two-level folder once ("pagefind/3/"), not a scan per shard.
        if not hasattr(self, "_trees"):
            self._trees: dict[str, list[str]] = {}
            for path in self.old:
                top = "/".join(path.split("/", 2)[:2]) + "/"
                self._trees.setdefault(top, []).append(path)
        return [path for path in self._trees.get(prefix, ()) if path.startswith(prefix)]

    def write(self, path: str, content: bytes, key: str = "") -> bool:
        """Write the file unless the same bytes are there already; True when written."""
        digest = sha256(content)
        self.new[path] = {"key": key, "sha": digest}
        target = self.root / path
        if self._same_on_disk(path, target, digest):
            self.unchanged += 1
            return False
        log.info('Writing "%s"', target)
        folder = str(target.parent)
        self._make_dir(folder)
        if path not in self.old and not os.path.lexists(target):  # a new file: nobody reads it yet
            with open(target, "wb") as handle:
                handle.write(content)
        else:
            # Write then rename: a reader (or `site serve`) never sees half a page. One build
            # writes at a time (the manifest assumes it), so a fixed temporary name is enough.
            tmp = f"{folder}{os.sep}.{target.name}.tmp"
            with open(tmp, "wb") as handle:
                handle.write(content)
            os.replace(tmp, target)
        self.written.append(path)
        return True

    def adopt(self, path: str, file: Path, key: str = "") -> bool:
        """Like write(), for a file made elsewhere on the same file system (a Pagefind bundle):
        moved into place instead of copied, which saves creating a second file."""
        content = file.read_bytes()
        digest = sha256(content)
        self.new[path] = {"key": key, "sha": digest}
        if self._same_on_disk(path, self.root / path, digest):
            self.unchanged += 1
            return False
        target = self.root / path
        log.info('Writing "%s"', target)
        self._make_dir(str(target.parent))
        os.replace(file, target)
        self.written.append(path)
        return True

    def adopt_tree(self, prefix: str, folder: Path, key: str = "") -> bool:
        """Move a whole new folder into place as `prefix` (a first-time Pagefind shard), recording
        its files; False, and nothing moved, when files under `prefix` exist already."""
        target = self.root / prefix
        if any(path.startswith(prefix) for path in self.old) or target.exists():
            return False
        files = [file for file in sorted(folder.rglob("*")) if file.is_file()]
        self._make_dir(str(target.parent))
        os.replace(folder, target)
        log.info('Writing "%s" (%d files)', target, len(files))
        for file in files:
            path = prefix + file.relative_to(folder).as_posix()
            self.new[path] = {"key": key, "sha": sha256((self.root / path).read_bytes())}
            self.written.append(path)
        return True

    def _make_dir(self, folder: str) -> None:
        if folder not in self._made_dirs:
            os.makedirs(folder, exist_ok=True)
            self._made_dirs.add(folder)

    def _same_on_disk(self, path: str, target: Path, digest: str) -> bool:
        old = self.old.get(path)
        if old is not None:
            return old.get("sha") == digest and self._exists(path)
        try:  # no manifest entry (first build into an existing folder): compare the bytes
            return sha256(target.read_bytes()) == digest
        except OSError:
            return False

    def sha_of(self, path: str) -> str | None:
        entry = self.new.get(path)
        return entry["sha"] if entry else None

    def finish(self) -> list[str]:
        """Delete files of the last build that this one did not produce; save the manifest."""
        removed = sorted(set(self.old) - set(self.new))
        for path in removed:
            target = self.root / path
            log.info('Removing "%s"', target)
            target.unlink(missing_ok=True)
            self._prune_empty_dirs(target.parent)
        manifest = {"version": MANIFEST_VERSION, "files": dict(sorted(self.new.items()))}
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / MANIFEST_NAME).write_text(json.dumps(manifest, separators=(",", ":")), "utf-8")
        return removed

    def _prune_empty_dirs(self, folder: Path) -> None:
        while folder != self.root and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
