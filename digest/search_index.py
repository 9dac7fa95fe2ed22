"""Site search with Pagefind: a static index, Russian stemming, no server.

The `pagefind-bin` package ships the Pagefind binary, so indexing runs offline. Pagefind
takes 1–2 ms per page here, too slow to re-index 10,000 reviews after each new one, so
the paper pages are split into shards in the order they were first reviewed: blocks of
SHARD_SIZE, then the newest papers in tail shards of TAIL_SIZE. A new paper lands in the
last tail shard, and only a shard whose pages changed is indexed again (a re-reviewed old
paper re-indexes its block; every SHARD_SIZE new papers the tail becomes one block). The search page loads shard 0 and merges the others (Pagefind's
`mergeIndex`). Pagefind reads a shard's pages in place, picked by a glob of their names.

Pagefind's `--force-language ru` gives one Russian index (Snowball stemming); English
words pass through the Russian stemmer unchanged, so English queries match titles too.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from digest.load import Entry
from paperdigest.errors import SiteError

log = logging.getLogger(__name__)

SHARD_SIZE = 500
TAIL_SIZE = 50
PAGEFIND_TIMEOUT_S = 600
BUNDLE_DIR = "pagefind"
UI_FILES = ("pagefind-ui.js", "pagefind-ui.css")
UNUSED_FILES = (
    "pagefind-component-ui.js",
    "pagefind-component-ui.css",
    "pagefind-modular-ui.js",
    "pagefind-modular-ui.css",
    "pagefind-highlight.js",
)


@dataclass(frozen=True)
class Shard:
    name: str
    pages: tuple[str, ...]  # paper page paths, relative to the site root

    @property
    def prefix(self) -> str:
        return f"{BUNDLE_DIR}/{self.name}/"


def plan_shards(entries: Sequence[Entry], size: int = SHARD_SIZE, tail: int = TAIL_SIZE) -> list[Shard]:
    """Papers in order of their first review, cut into blocks and tail shards: old shards stay as they are.
    Names never repeat for different pages: tail shards carry the number of the block they will become."""
    ordered = [e.path for e in sorted(entries, key=lambda e: (e.first_reviewed_at, e.arxiv_id))]
    blocks = len(ordered) // size
    shards = [Shard(str(n), tuple(ordered[n * size : (n + 1) * size])) for n in range(blocks)]
    rest = range(blocks * size, len(ordered), tail)
    shards += [Shard(f"{blocks}-{m}", tuple(ordered[start : start + tail])) for m, start in enumerate(rest)]
    return shards


def pagefind_executable() -> Path:
    try:
        from pagefind_bin import get_executable
    except ImportError as err:
        raise SiteError(
            "the Pagefind binary is missing (pip package pagefind[bin]); reinstall the project with `make install`"
        ) from err
    return get_executable()


def remove_leftovers(site_dir: Path) -> None:
    """Work folders of a build that was killed while Pagefind ran."""
    for folder in site_dir.glob(".pagefind-*"):
        shutil.rmtree(folder, ignore_errors=True)


def shard_glob(shard: Shard) -> str:
    """Pagefind's glob for exactly the shard's pages (paper files, whose names are safe slugs)."""
    return "{" + ",".join(shard.pages) + "}"


def index_shard(site_dir: Path, shard: Shard, primary: bool) -> Path:
    """Run Pagefind over one shard's pages; return a work folder whose `bundle/` holds the
    search bundle, ready to move into the site (the caller removes the work folder)."""
    work = Path(tempfile.mkdtemp(prefix=".pagefind-", dir=site_dir))
    command = [
        str(pagefind_executable()),
        "--site",
        str(site_dir),
        "--glob",
        shard_glob(shard),
        "--output-path",
        str(work / "bundle"),
        "--force-language",
        "ru",
        "--quiet",
    ]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PAGEFIND_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        shutil.rmtree(work, ignore_errors=True)
        raise SiteError(f"Pagefind could not index search shard {shard.name} ({err}); run the build again") from err
    log.info(
        "Pagefind: shard %s, %d pages, exit %d, %.2f s",
        shard.name,
        len(shard.pages),
        done.returncode,
        time.perf_counter() - started,
    )
    if done.returncode != 0:
        shutil.rmtree(work, ignore_errors=True)
        tail = (done.stderr or done.stdout).strip()[-500:]
        raise SiteError(f"Pagefind failed on search shard {shard.name} (exit {done.returncode}): {tail}")
    _prune_bundle(work / "bundle", keep_ui=primary)
    return work


def _prune_bundle(bundle: Path, *, keep_ui: bool) -> None:
    """Drop what the site does not use: the UI outside the first shard, the other UI flavours, the playground."""
    for name in UNUSED_FILES + (() if keep_ui else UI_FILES):
        (bundle / name).unlink(missing_ok=True)
    shutil.rmtree(bundle / "playground", ignore_errors=True)


def bundle_files(work: Path, shard: Shard) -> list[tuple[str, Path]]:
    """The bundle's files as (path in the site, file)."""
    bundle = work / "bundle"
    return [
        (shard.prefix + file.relative_to(bundle).as_posix(), file)
        for file in sorted(bundle.rglob("*"))
        if file.is_file()
    ]


class Indexer:
    """Runs Pagefind in a background thread while the build goes on rendering the next shard."""

    def __init__(self, site_dir: Path) -> None:
        self.site_dir = site_dir
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pagefind")
        self.pending: list[tuple[Shard, str, Future[Path]]] = []

    def submit(self, shard: Shard, key: str, primary: bool) -> None:
        self.pending.append((shard, key, self._pool.submit(index_shard, self.site_dir, shard, primary)))

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        for _shard, _key, future in self.pending:  # after an error: remove what finished anyway
            if future.done() and future.exception() is None:
                shutil.rmtree(future.result(), ignore_errors=True)
