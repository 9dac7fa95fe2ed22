"""Review throughput on 1, 2 and 4 `paperdigest worker` processes against one PostgreSQL server,
and one worker on SQLite against one on PostgreSQL.

    .venv/bin/python bench/scale.py [--papers 200] [--latency 2] [--runs 3] [--workers 1,2,4]

Each run: a fresh database; the workers started and ready (their PDF worker and tokenizer
warmed up); then `papers` review jobs queued at once, as bots with REVIEWS_IN_BOT=false queue
them; timed until every job is done. The fake LLM answers after `latency` seconds; each worker
has LLM_CONCURRENCY=4 (WORKER_JOBS=8, so its LLM slots never wait for a PDF step). The ideal
for n workers is papers × latency / (4 n); the scaling ratio is n workers' throughput over n
times one worker's (target ≥ 0.9 up to 4 workers: the work is waiting on the LLM).
Medians of `runs` runs. Needs Debian's PostgreSQL server binaries (as the tests do).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from paperdigest import repo  # noqa: E402
from paperdigest.db import Database  # noqa: E402
from paperdigest.models import Job  # noqa: E402
from paperdigest.settings import Settings  # noqa: E402
from tests.fakes.arxiv import FakeArxiv  # noqa: E402
from tests.fakes.llm import FakeLLM  # noqa: E402
from tests.support.papers import make_pdf  # noqa: E402
from tests.support.postgres import start_server  # noqa: E402

COMMAND = Path(sys.executable).with_name("paperdigest")
CONCURRENCY = 4


def worker_env(database_url: str, tmp: Path, arxiv: FakeArxiv, llm: FakeLLM) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in Settings.model_fields}
    env.update(
        DATABASE_URL=database_url,
        DATA_DIR=str(tmp / "data"),
        SITE_DIR=str(tmp / "site"),
        ARXIV_API_URL=arxiv.api_url,
        ARXIV_PDF_URL=arxiv.pdf_url_template,
        ARXIV_DELAY_S="0",
        OPENAI_BASE_URL=llm.base_url,
        OPENAI_API_KEY="sk-test",
        LLM_CONCURRENCY=str(CONCURRENCY),
        WORKER_JOBS=str(2 * CONCURRENCY),
    )
    return env


def one_run(database_url: str, workers: int, ids: list[str], arxiv: FakeArxiv, llm: FakeLLM, tmp: Path) -> float:
    db = Database(database_url)  # migrated here, before the workers start
    logs = [tmp / f"worker-{n}.log" for n in range(workers)]
    env = worker_env(database_url, tmp, arxiv, llm)
    processes = [
        subprocess.Popen(
            [str(COMMAND), "--log-level", "INFO", "worker"], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
        )
        for log in logs
    ]
    try:
        _wait(lambda: all("started" in log.read_text(errors="replace") for log in logs), 120, "workers ready")
        started = time.perf_counter()
        with db.session() as session, session.begin():
            for arxiv_id in ids:
                repo.open_job(session, arxiv_id, None, force=False, requested_by="bench")

        def all_done() -> bool:
            with db.read() as session:
                done = session.scalar(select(func.count()).select_from(Job).where(Job.status == "done"))
                failed = session.scalar(select(func.count()).select_from(Job).where(Job.status == "failed"))
            assert not failed, "a job failed: see the worker logs in " + str(tmp)
            return done == len(ids)

        _wait(all_done, 3600, "all jobs done", interval=0.2)
        return time.perf_counter() - started
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(60)
        db.close()


def _wait(check, timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise TimeoutError(f"{what}: not within {timeout} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=200)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    server = start_server()
    pdf = make_pdf()
    results: dict[tuple[str, int], list[float]] = {}
    try:
        with tempfile.TemporaryDirectory() as root, FakeArxiv() as arxiv, FakeLLM() as llm:
            llm.latency_s = args.latency
            serial = iter(range(10**6))
            plan = [("postgresql", n) for n in counts] + [("sqlite", 1)]
            for run in range(args.runs):
                for backend, workers in plan:
                    tmp = Path(root) / f"{backend}-{workers}-{run}"
                    tmp.mkdir()
                    ids = [f"25{(run % 12) + 1:02d}.{next(serial):05d}" for _ in range(args.papers)]
                    for arxiv_id in ids:
                        arxiv.add_paper(
                            arxiv_id,
                            title=f"Paper {arxiv_id}",
                            authors=["A. Author"],
                            abstract="An abstract.",
                            versions={1: pdf},
                        )
                    url = (
                        server.url(server.create_database())
                        if backend == "postgresql"
                        else f"sqlite:///{tmp / 'bench.db'}"
                    )
                    seconds = one_run(url, workers, ids, arxiv, llm, tmp)
                    results.setdefault((backend, workers), []).append(seconds)
                    print(f"run {run + 1}: {backend}, {workers} worker(s): {seconds:.1f} s", file=sys.stderr)
    finally:
        server.stop()
    print_table(results, args.papers, args.latency, counts)
    return 0


def print_table(results: dict[tuple[str, int], list[float]], papers: int, latency: float, counts: list[int]) -> None:
    one = statistics.median(results[("postgresql", 1)])
    print(
        f"{papers} papers, fake LLM {latency:g} s per call, LLM_CONCURRENCY={CONCURRENCY} per worker; medians of {len(results[('postgresql', 1)])} runs\n"
    )
    print("| backend | workers | time | papers/s | ideal time | vs ideal | vs linear from 1 worker |")
    print("|---|---|---|---|---|---|---|")
    for (backend, workers), times in results.items():
        median = statistics.median(times)
        ideal = papers * latency / (CONCURRENCY * workers)
        linear = (one / workers) / median if backend == "postgresql" else ""
        print(
            f"| {backend} | {workers} | {median:.1f} s | {papers / median:.2f} | {ideal:.1f} s | "
            f"{ideal / median:.2f} | {f'{linear:.2f}' if linear != '' else '—'} |"
        )
    sqlite = statistics.median(results[("sqlite", 1)])
    print(f"\nOne worker, SQLite / PostgreSQL time: {sqlite / one:.2f}")


if __name__ == "__main__":
    sys.exit(main())
