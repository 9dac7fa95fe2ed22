"""Editing a published channel post: the review re-rendered with a note on top.

The watcher queues an outbox row of kind "edit" holding the post's message ids and the
note ("🔄 Обновлено до v2 …", "⚠️ Статья отозвана …"); the relay renders the review as it
would for a new post, with the note as the first quoted note under the header, and edits
each message in place. A post is edited, never extended: if the new text needs more
messages than the post has (a classic post whose last part was nearly full), the rest is
left out — the first message, which carries the note, is always edited. Pure: the relay
does the I/O.
"""

from __future__ import annotations


def with_note(markdown: str, note: str) -> str:
    """The review with `note` quoted right under its header (title, then authors and links)."""
    quoted = "> " + " ".join(note.split())
    parts = markdown.split("\n\n", 2)
    if len(parts) < 3 or not parts[0].startswith("# "):
        return f"{quoted}\n\n{markdown}"
    return "\n\n".join([parts[0], parts[1], quoted, parts[2]])
