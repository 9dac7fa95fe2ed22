"""Text extraction from PDFs with pypdfium2, in a worker process with limits.

A hostile or broken PDF must not take the bot down: pdfium runs in a long-lived child
process (``python -m summarizer.extract``) that caps its own address space with
``RLIMIT_AS``; the parent waits at most ``timeout_s`` for each answer, then kills the
worker, starts a fresh one and raises `PdfExtractionFailed`. A crash (segfault, abort,
MemoryError, SIGKILL) is reported the same way, and the next call gets a new worker.

The worker is reused across calls: starting Python and importing pypdfium2 costs more
than extracting a whole paper. Protocol, one request at a time over pipes:

    parent → worker   one JSON line: {"path": "...", "max_pages": 80}
    worker → parent   one JSON line: {"page_count": N, "size": B} or {"error": kind, "detail": "..."}
                      then B bytes of UTF-8: the cleaned pages joined by NUL

Text cleaning (`clean_page_text`) is pure and happens in the worker. The parent refuses
an answer of more than `max_text_mb` without reading it, so a page that pdfium turns into
gigabytes of text cannot fill the parent's memory either.

Hand-written rather than a process-pool library (pebble, loky): about a hundred lines,
no pickling, no extra dependency, and the crash cases map straight onto our errors;
warm, it runs at about 0.9x the speed of pdfium called in-process (bench/extract.py).
POSIX only (``resource``, ``select`` on pipes), like the deployment.
"""

from __future__ import annotations

import json
import logging
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from paperdigest.errors import PdfCorrupt, PdfEncrypted, PdfExtractionFailed, PdfNoText

log = logging.getLogger(__name__)

MIN_CHARS_PER_PAGE = 20  # below this on average over the pages read: no text layer
_PAGE_SEP = "\x00"  # cleaned text never contains NUL

# --- cleaning (pure) -------------------------------------------------------------------

_LIGATURES = {
    "ﬀ": "ff",
    "ﬁ": "fi",
    "ﬂ": "fl",
    "ﬃ": "ffi",
    "ﬄ": "ffl",
    "ﬅ": "st",
    "ﬆ": "st",
}
_LIGATURE = re.compile("[\ufb00-\ufb06]")
# pdfium marks a line-end hyphen it considers soft with U+FFFE (old builds: U+0002),
# usually followed by the line break.
_HYPHEN_BREAK = re.compile(r"[\ufffe\x02][ \t]*\n?[ \t]*")
_WORD = re.compile(r"\S*")
_SOFT_HYPHEN_BREAK = re.compile(r"\u00ad[ \t]*\n?[ \t]*")
# control characters except \t and \n, lone surrogates, non-characters
_JUNK = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def _keeps_hyphen(before: str, after: str) -> bool:
    """Whether a word broken at a line end is a compound: "state-of-the-|art", "MiniMax-|M1", "BERT-|based"."""
    word = before[max(before.rfind(" "), before.rfind("\n")) + 1 :]
    next_word = _WORD.match(after).group()
    head = next_word[:1]
    compound = "-" in word or "-" in next_word or sum(c.isupper() for c in word) > 1
    return compound or head.isupper() or head.isdigit()


def _dehyphenate(text: str) -> str:
    parts = _HYPHEN_BREAK.split(text)
    out = [parts[0]]
    for part in parts[1:]:
        out.append("-" if _keeps_hyphen(out[-1], part) else "")
        out.append(part)
    return "".join(out)


def clean_page_text(text: str) -> str:
    """Normalise one page of pdfium text: line ends, hyphenation, ligatures, junk."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\ufffe" in text or "\x02" in text:
        text = _dehyphenate(text)
    if "\u00ad" in text:
        text = _SOFT_HYPHEN_BREAK.sub("", text)
    text = _LIGATURE.sub(lambda m: _LIGATURES[m.group()], text)
    return _JUNK.sub("", text.replace("\t", " "))


# --- result ----------------------------------------------------------------------------


@dataclass
class ExtractedText:
    pages: list[str]  # cleaned text of the pages read, in order
    page_count: int  # pages in the file
    pages_read: int
    truncated: bool  # page_count > max_pages


def check_has_text(result: ExtractedText, name: str) -> ExtractedText:
    """Raise `PdfNoText` when the pages read carry (almost) no text layer."""
    chars = sum(len(p) - p.count(" ") - p.count("\n") for p in result.pages)
    if result.pages_read and chars < MIN_CHARS_PER_PAGE * result.pages_read:
        raise PdfNoText(
            f"{name} has no usable text layer ({chars} characters on {result.pages_read} pages); "
            "it is probably scanned images. Run OCR on it or use another version of the paper."
        )
    return result


# --- worker side -----------------------------------------------------------------------


def _read_pages(path: str, max_pages: int) -> tuple[int, list[str]]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    try:
        page_count = len(pdf)
        pages, failed = [], 0
        for i in range(min(page_count, max_pages)):
            try:
                page = pdf[i]
            except pdfium.PdfiumError:
                failed += 1
                pages.append("")
                continue
            textpage = page.get_textpage()
            pages.append(clean_page_text(textpage.get_text_range()))
            textpage.close()
            page.close()
        if page_count == 0 or failed == len(pages):
            raise _WorkerError("corrupt", "pdfium opened it but could not load any page")
        return page_count, pages
    finally:
        pdf.close()


class _WorkerError(Exception):
    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind, self.detail = kind, detail


def _classify(exc: Exception) -> _WorkerError:
    import pypdfium2 as pdfium
    from pypdfium2 import raw

    if isinstance(exc, _WorkerError):
        return exc
    if isinstance(exc, pdfium.PdfiumError):
        code = exc.err_code
        if code in (raw.FPDF_ERR_PASSWORD, raw.FPDF_ERR_SECURITY):
            return _WorkerError("encrypted", str(exc))
        if code == raw.FPDF_ERR_FILE:
            return _WorkerError("file", str(exc))
        return _WorkerError("corrupt", str(exc))
    if isinstance(exc, MemoryError):
        return _WorkerError("memory", "MemoryError")
    return _WorkerError("crash", f"{type(exc).__name__}: {exc}")


def _serve(requests, replies) -> None:
    for line in requests:
        req = json.loads(line)
        try:
            page_count, pages = _read_pages(req["path"], req["max_pages"])
        except Exception as exc:  # noqa: BLE001 - every failure is reported to the parent
            err = _classify(exc)
            replies.write(json.dumps({"error": err.kind, "detail": err.detail}).encode() + b"\n")
            replies.flush()
            if err.kind in ("memory", "crash"):
                return  # state may be damaged: let the parent start a fresh worker
            continue
        payload = _PAGE_SEP.join(pages).encode("utf-8", "replace")
        replies.write(json.dumps({"page_count": page_count, "size": len(payload)}).encode() + b"\n")
        replies.write(payload)
        replies.flush()


def worker_main(memory_mb: int) -> None:
    """Entry point of the worker process: limit memory, then answer requests from stdin."""
    import resource

    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # The protocol gets a private copy of stdout; anything a C library prints goes to stderr.
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    import pypdfium2  # noqa: F401 - import once, before the first request

    _serve(sys.stdin.buffer, replies)


# --- parent side -----------------------------------------------------------------------


class _Worker:
    """One worker process and the bytes read from it; knows nothing of PDFs."""

    def __init__(self, memory_mb: int):
        root = str(Path(__file__).resolve().parents[1])
        env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
        )
        cmd = [sys.executable, "-m", "summarizer.extract", "--worker", str(memory_mb)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, bufsize=0)
        self._buf = bytearray()  # read from the worker but not yet consumed

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, message: dict) -> None:
        self._buf.clear()
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")

    def read_line(self, deadline: float) -> bytes:
        while (cut := self._buf.find(b"\n")) < 0:
            self._buf += self._read_some(deadline)
        return self._take(cut + 1)

    def read_exactly(self, size: int, deadline: float) -> bytes:
        while len(self._buf) < size:
            self._buf += self._read_some(deadline)
        return self._take(size)

    def _take(self, size: int) -> bytes:
        data = bytes(self._buf[:size])
        del self._buf[:size]
        return data

    def _read_some(self, deadline: float) -> bytes:
        fd = self.proc.stdout.fileno()
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            raise TimeoutError
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            raise EOFError
        return chunk

    def kill(self) -> int:
        if self.alive:
            self.proc.kill()
        returncode = self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()
        return returncode

    def stop(self) -> None:
        if self.alive:
            self.proc.stdin.close()  # the worker exits at the end of its input
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        self.kill()


class PdfExtractor:
    """Extract text from PDFs in a reusable worker process; thread-safe, synchronous.

    Use as a context manager or call `close()` (a later `extract` starts a new worker).
    Only the first `max_pages` pages are read; more than `max_text_mb` of text is refused.
    """

    def __init__(
        self,
        max_pages: int = 80,
        timeout_s: float = 60.0,
        memory_mb: int = 1024,
        max_text_mb: int = 32,
    ):
        self.max_pages, self.timeout_s, self.memory_mb = max_pages, timeout_s, memory_mb
        self.max_text_mb = max_text_mb
        self._lock = threading.Lock()
        self._worker: _Worker | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._worker is not None:
                self._worker.stop()
                self._worker = None

    @property
    def worker_pid(self) -> int | None:
        """The worker's process id, or None before the first call and after `close()`."""
        worker = self._worker
        return worker.proc.pid if worker is not None and worker.alive else None

    def start(self) -> None:
        """Start the worker now rather than on the first PDF (a long-running bot does this at start)."""
        with self._lock:
            if self._worker is None or not self._worker.alive:
                self._worker = _Worker(self.memory_mb)

    def extract(self, path: str | os.PathLike) -> ExtractedText:
        """The text of the first `max_pages` pages of the PDF at `path`.

        Raises PdfEncrypted, PdfCorrupt, PdfNoText or PdfExtractionFailed (time, memory, crash).
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"No PDF at {path}")
        started = time.perf_counter()
        with self._lock:
            header, payload = self._request(path)
        result = _result_from(header, payload, path.name, self.max_pages)
        log.info(
            "Extracted %s: %d of %d pages in %.3f s",
            path.name,
            result.pages_read,
            result.page_count,
            time.perf_counter() - started,
        )
        return check_has_text(result, path.name)

    def _request(self, path: Path) -> tuple[dict, bytes]:
        if self._worker is None or not self._worker.alive:
            if self._worker is not None:
                self._worker.kill()  # died while idle: reap it
            self._worker = _Worker(self.memory_mb)
        worker = self._worker
        deadline = time.monotonic() + self.timeout_s
        try:
            worker.send({"path": str(path.resolve()), "max_pages": self.max_pages})
            header = json.loads(worker.read_line(deadline))
            size = header.get("size", 0)
            if size > self.max_text_mb << 20:
                self._restart()  # rather than read it all
                raise self._failed(
                    path,
                    f"produced {size >> 20} MB of text, over the {self.max_text_mb} MB limit",
                )
            payload = worker.read_exactly(size, deadline)
        except TimeoutError:
            self._restart()
            raise self._failed(
                path,
                f"took longer than {self.timeout_s:g} s (raise timeout_s if it is just huge)",
            ) from None
        except (BrokenPipeError, EOFError, ValueError):
            how = _describe_exit(self._restart())
            raise self._failed(
                path,
                f"crashed the worker ({how}), most likely by exceeding its {self.memory_mb} MB memory limit",
            ) from None
        if header.get("error") in ("memory", "crash"):
            self._restart()
        return header, payload

    def _restart(self) -> int:
        """Kill the worker and start a fresh one (it warms up while the caller handles the error)."""
        returncode = self._worker.kill()
        self._worker = _Worker(self.memory_mb)
        return returncode

    @staticmethod
    def _failed(path: Path, what: str) -> PdfExtractionFailed:
        log.warning("Extraction of %s %s; the worker was restarted", path.name, what)
        return PdfExtractionFailed(
            f"Extracting text from {path.name} {what}; the worker was restarted. The PDF is "
            "probably malformed or hostile: try another version of the paper."
        )


def _describe_exit(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


def _result_from(header: dict, payload: bytes, name: str, max_pages: int) -> ExtractedText:
    error = header.get("error")
    if error == "encrypted":
        raise PdfEncrypted(
            f"{name} is encrypted and needs a password to open ({header['detail']}); "
            "ask for an unencrypted copy of the paper."
        )
    if error in ("corrupt", "file"):
        raise PdfCorrupt(
            f"{name} is not a readable PDF ({header['detail']}); download it again or use another version of the paper."
        )
    if error == "memory":
        raise PdfExtractionFailed(
            f"Extracting text from {name} ran out of the worker's memory limit; "
            "the PDF is probably hostile or enormous. Try another version of the paper."
        )
    if error:
        raise PdfExtractionFailed(f"Extracting text from {name} failed: {header['detail']}.")
    pages = payload.decode("utf-8").split(_PAGE_SEP)
    page_count = header["page_count"]
    return ExtractedText(
        pages=pages,
        page_count=page_count,
        pages_read=len(pages),
        truncated=page_count > max_pages,
    )


if __name__ == "__main__":
    if sys.argv[1:2] != ["--worker"] or len(sys.argv) != 3:
        sys.exit("usage: python -m summarizer.extract --worker MEMORY_MB (started by PdfExtractor)")
    worker_main(int(sys.argv[2]))
