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

Text cleaning (`clean_page_text`) is pure and happens in the worker.
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

from paperdigest.errors import PdfCorrupt, PdfEncrypted, PdfExtractionFailed, PdfNoText

log = logging.getLogger(__name__)

MIN_CHARS_PER_PAGE = 20  # below this on average over the pages read: no text layer
_PAGE_SEP = "\x00"  # cleaned text never contains NUL

# --- cleaning (pure) -------------------------------------------------------------------

_LIGATURES = {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}
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
    import pypdfium2.raw as raw

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


class PdfExtractor:
    """Extract text from PDFs in a reusable worker process; thread-safe, synchronous.

    Use as a context manager or call `close()`. Only the first `max_pages` pages are read.
    """

    def __init__(self, max_pages: int = 80, timeout_s: float = 60.0, memory_mb: int = 1024):
        self.max_pages, self.timeout_s, self.memory_mb = max_pages, timeout_s, memory_mb
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._buf = bytearray()  # bytes read from the worker but not yet consumed

    def __enter__(self) -> PdfExtractor:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._stop()

    @property
    def worker_pid(self) -> int | None:
        """The worker's process id, or None before the first call and after `close()`."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def extract(self, path: str | os.PathLike) -> ExtractedText:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"No PDF at {path}")
        with self._lock:
            started = time.perf_counter()
            header, payload = self._request(path)
        result = _result_from(header, payload, path.name, self.max_pages)
        log.info(
            "Extracted %s: %d of %d pages in %.3f s",
            path.name, result.pages_read, result.page_count, time.perf_counter() - started,
        )
        return check_has_text(result, path.name)

    # the worker process

    def _start(self) -> subprocess.Popen:
        root = str(Path(__file__).resolve().parents[1])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        cmd = [sys.executable, "-m", "summarizer.extract", "--worker", str(self.memory_mb)]
        return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, bufsize=0)

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.stdin.close()  # a polite worker exits on EOF
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        proc.stdout.close()

    def _kill(self) -> int | None:
        proc, self._proc = self._proc, None
        if proc.poll() is None:
            proc.kill()
        returncode = proc.wait()
        proc.stdin.close()
        proc.stdout.close()
        return returncode

    def _request(self, path: Path) -> tuple[dict, bytes]:
        if self._proc is None or self._proc.poll() is not None:
            if self._proc is not None:
                self._kill()
            self._proc = self._start()
        deadline = time.monotonic() + self.timeout_s
        self._buf.clear()
        try:
            request = json.dumps({"path": str(path.resolve()), "max_pages": self.max_pages})
            self._proc.stdin.write(request.encode() + b"\n")
            header = json.loads(self._read_until(b"\n", deadline))
            payload = self._read_exactly(header.get("size", 0), deadline)
        except TimeoutError:
            self._kill()
            self._proc = self._start()  # warm up the replacement while the caller handles this
            raise PdfExtractionFailed(
                f"Extracting text from {path.name} took longer than {self.timeout_s:g} s, so the "
                "worker was stopped; the PDF is probably malformed or hostile. Try another "
                "version of the paper, or raise the time limit if the file is just huge."
            ) from None
        except (BrokenPipeError, EOFError, ValueError):
            raise self._crashed(path) from None
        if header.get("error") in ("memory", "crash"):
            self._kill()
        return header, payload

    def _crashed(self, path: Path) -> PdfExtractionFailed:
        returncode = self._kill()
        how = _describe_exit(returncode)
        return PdfExtractionFailed(
            f"The text extraction worker died ({how}) while reading {path.name}; most likely the "
            f"PDF made pdfium exceed the {self.memory_mb} MB memory limit or crash. A fresh worker "
            "will handle the next file; try another version of this paper."
        )

    def _read_until(self, end: bytes, deadline: float) -> bytes:
        while (cut := self._buf.find(end)) < 0:
            self._buf += self._read_some(deadline)
        return self._take(cut + len(end))

    def _read_exactly(self, size: int, deadline: float) -> bytes:
        while len(self._buf) < size:
            self._buf += self._read_some(deadline)
        return self._take(size)

    def _take(self, size: int) -> bytes:
        data = bytes(self._buf[:size])
        del self._buf[:size]
        return data

    def _read_some(self, deadline: float) -> bytes:
        fd = self._proc.stdout.fileno()
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            raise TimeoutError
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            raise EOFError
        return chunk


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
            f"{name} is not a readable PDF ({header['detail']}); download it again or use "
            "another version of the paper."
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
        pages=pages, page_count=page_count, pages_read=len(pages), truncated=page_count > max_pages
    )


if __name__ == "__main__":
    if sys.argv[1:2] != ["--worker"] or len(sys.argv) != 3:
        sys.exit("usage: python -m summarizer.extract --worker MEMORY_MB (started by PdfExtractor)")
    worker_main(int(sys.argv[2]))
