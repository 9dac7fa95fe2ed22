"""Hand-made PDFs, byte by byte: `pdf_of_pages([text_stream(LINE), ...])`, and a Flate stream
that inflates to many megabytes (`bomb_stream`), for the extractor and the hostile-input proofs."""

from __future__ import annotations

import zlib


def raw_pdf(objects: list[bytes]) -> bytes:
    """A PDF file from object bodies numbered 1..n; object 1 is the catalog."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n%s\nendstream" % (len(data), extra, data)


def text_stream(text: str) -> bytes:
    return stream(b"BT /F1 11 Tf 72 720 Td (%s) Tj ET" % text.encode())


def pdf_of_pages(contents: list[bytes]) -> bytes:
    """One page per content stream, all with Helvetica as /F1."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    kids = []
    for content in contents:
        objects.append(content)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % len(objects)
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Count %d /Kids [%s] >>" % (
        len(kids),
        b" ".join(kids),
    )
    return raw_pdf(objects)


def bomb_stream(megabytes: int) -> bytes:
    """A Flate stream about 1 MB on disk that inflates to `megabytes` MB of drawing operators."""
    compressor = zlib.compressobj(9)
    chunk = b"0 0 m 1 1 l S\n" * 65536
    parts = [compressor.compress(chunk) for _ in range((megabytes << 20) // len(chunk))]
    return stream(b"".join(parts) + compressor.flush(), b"/Filter /FlateDecode")


LINE = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt."
