"""Site safety: a site built from hostile metadata and reviews references no other host.

Every built file is scanned for addresses the browser (or a feed reader) would fetch or be sent
to: src=, srcset=, <link href>, <meta http-equiv=refresh>, CSS url() and @import, action=,
poster=, data=, <base href>, and <a href> outside the site, arxiv.org, doi.org and github.com.
Feeds are scanned twice: as XML, and their escaped HTML content as a reader renders it.
Scripts from hostile data are checked in Chromium by tests/digest/test_site_browser.py
(test_hostile_data_runs_no_script), which this suite does not duplicate.

    .venv/bin/python -m pytest tests/proof/test_site_safety.py -s
"""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

from digest.build import build_site
from paperdigest.db import Database
from paperdigest.settings import Settings
from tests.support.site import SITE_URL, T0, add_review, site_files

LINK_HOSTS = ("arxiv.org", "doi.org", "github.com")
EVIL = "evil.example"
HOSTILE_BODY = f"""**TL;DR:** <link rel="stylesheet" href="https://{EVIL}/x.css"> <meta http-equiv="refresh" content="0;url=https://{EVIL}/">

## Суть

<img srcset="https://{EVIL}/a.png 1x, https://{EVIL}/b.png 2x"> <picture><source srcset="//{EVIL}/c.webp"></picture>
<div style="background:url(https://{EVIL}/bg.png)">фон</div> <style>@import url("https://{EVIL}/i.css"); body{{background:url(//{EVIL}/b.png)}}</style>

## Метод

<video poster="https://{EVIL}/p.png" src="https://{EVIL}/v.mp4"></video> <object data="https://{EVIL}/o.swf"></object>
<form action="https://{EVIL}/f"><button formaction="https://{EVIL}/g">go</button></form> <base href="https://{EVIL}/">

## Эксперименты и результаты

![картинка](https://{EVIL}/md.png) ![rel](//{EVIL}/rel.png) [ссылка](https://{EVIL}/a) <https://{EVIL}/auto>

## Ограничения

<iframe srcdoc="<img src=https://{EVIL}/s.png>"></iframe> <svg><image href="https://{EVIL}/svg.png"/></svg>

## Почему это важно

$\\href{{https://{EVIL}/tex}}{{x}}$ и $\\includegraphics{{https://{EVIL}/g.png}}$
"""

URL_ATTRS = {
    "src",
    "srcset",
    "poster",
    "data",
    "action",
    "formaction",
    "background",
    "xlink:href",
    "href",
    "imagesrcset",
    "ping",
    "manifest",
    "codebase",
    "cite",
    "longdesc",
}
CSS_URL = re.compile(r"""url\(\s*["']?([^"')\s]+)|@import\s+["']([^"']+)""", re.IGNORECASE)
REFRESH_URL = re.compile(r"url\s*=\s*['\"]?([^'\">\s]+)", re.IGNORECASE)


class Refs(HTMLParser):
    """(kind, value) of every URL a browser would fetch or follow, from tags, attributes and CSS."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []
        self._style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._style = tag == "style"
        for name, value in attrs:
            value = value or ""
            if name in ("srcset", "imagesrcset"):
                self.found += [(name, part.split()[0]) for part in value.split(",") if part.strip()]
            elif name in URL_ATTRS:
                self.found.append((f"<{tag} href>" if name == "href" else name, value))
            elif name == "style":
                self.found += [("css", a or b) for a, b in CSS_URL.findall(value)]
            elif name == "content" and ("http-equiv", "refresh") in [(n, (v or "").lower()) for n, v in attrs]:
                self.found += [("refresh", url) for url in REFRESH_URL.findall(value)]

    def handle_endtag(self, tag: str) -> None:
        self._style = False if tag == "style" else self._style

    def handle_data(self, data: str) -> None:
        if self._style:
            self.found += [("css", a or b) for a, b in CSS_URL.findall(data)]


def host_of(value: str) -> str | None:
    value = value.strip()
    if value.startswith("//"):
        value = "https:" + value
    parsed = urlparse(value)
    return parsed.hostname if parsed.netloc else None


def references(text: str, kind: str = ".html") -> list[tuple[str, str, str]]:
    """(kind, value, host) of every absolute reference in a file's text."""
    if kind == ".css":
        pairs = [("css", a or b) for a, b in CSS_URL.findall(text)]
    else:
        parser = Refs()
        parser.feed(text)
        parser.close()
        pairs = parser.found
    return [(k, v, host_of(v)) for k, v in pairs if host_of(v)]


def feed_html(xml: str) -> list[str]:
    """The HTML a feed reader renders: Atom text constructs of type html, RSS description/encoded."""
    from xml.etree import ElementTree

    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        return []
    return [
        el.text
        for el in root.iter()
        if el.text and (el.get("type") in ("html", "xhtml") or el.tag.endswith(("}encoded", "description")))
    ]


def allowed(kind: str, host: str, own: str) -> bool:
    if host == own:
        return True
    return kind == "<a href>" and any(host == h or host.endswith("." + h) for h in LINK_HOSTS)


def build_hostile_site(tmp_path: Path) -> Path:
    from tests.support.site import populate

    settings = Settings(
        _env_file=None,
        DATABASE_URL=f"sqlite:///{tmp_path / 'site.db'}",
        DATA_DIR=tmp_path / "data",
        SITE_DIR=tmp_path / "site",
        SITE_URL=SITE_URL,
    )
    db = Database(settings.DATABASE_URL)
    populate(db)  # the site issue's XSS corpus
    add_review(
        db,
        "2501.00002",
        title=f'Title <link rel="stylesheet" href="https://{EVIL}/t.css"> '
        f'<meta http-equiv="refresh" content="0;url=https://{EVIL}/">',
        body=HOSTILE_BODY,
        at=T0 + timedelta(days=3),
        categories=["cs.CR", f'cs.X" style="background:url(https://{EVIL}/c)'],
        authors=[f'<img srcset="https://{EVIL}/au.png">', f"https://{EVIL}/author"],
        abstract=f'<style>@import "https://{EVIL}/abs.css";</style> https://{EVIL}/abstract',
        code_url="https://github.com/evil/code",
        notes=[f"<img src=https://{EVIL}/note.png> [n](https://{EVIL}/n)"],
        validation="failed",
        problems=[f"links to other sites are not allowed (https://{EVIL}/p)"],
        tldr=f'<img src="https://{EVIL}/tldr.png"> ![x](https://{EVIL}/tl.png)',
    )
    db.close()
    build_site(settings)
    return tmp_path / "site"


def test_built_site_references_no_other_host(site_settings, tmp_path: Path) -> None:
    site = build_hostile_site(tmp_path)
    own = urlparse(SITE_URL).hostname
    files = site_files(site)
    scanned, checked, bad = 0, 0, []
    for name, path in files.items():
        if path.suffix not in (".html", ".xml", ".css", ".js", ".json", ".txt", ".webmanifest", ".svg"):
            continue
        scanned += 1
        text = path.read_text(errors="replace")
        if path.suffix in (".js", ".json", ".txt"):  # not markup: only absolute addresses of other hosts matter
            hits = [("text", m, host_of(m)) for m in re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"'<>)]*", text)]
            bad += [f"{name}: {v}" for _k, v, host in hits if host and host != own and EVIL in host]
            continue
        texts = [text] + (feed_html(text) if path.suffix == ".xml" else [])
        for body in texts:
            for kind, value, host in references(body, path.suffix):
                checked += 1
                if not allowed(kind, host, own):
                    bad.append(f"{name}: {kind} {value}")
    print(
        f"\nsite safety: {len(files)} files built, {scanned} scanned, {checked} absolute references, "
        f"{len(bad)} to another host"
    )
    assert bad == [], "\n".join(bad[:40])


def test_the_scanner_sees_what_it_must(tmp_path: Path) -> None:
    """The scanner itself: each construct of the hostile body, unescaped, is caught."""
    sample = (
        f'<a href="https://{EVIL}/a">a</a> <image href="https://{EVIL}/i"/> '
        f'<source srcset="x.png 1x, //{EVIL}/b.png 2x">' + HOSTILE_BODY
    )
    kinds = {kind for kind, _value, host in references(sample) if host == EVIL}
    assert {
        "srcset",
        "css",
        "refresh",
        "poster",
        "src",
        "data",
        "action",
        "formaction",
        "<link href>",
        "<base href>",
        "<a href>",
        "<image href>",
    } <= kinds
