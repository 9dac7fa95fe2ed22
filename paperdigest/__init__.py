"""paperdigest: Russian-language reviews of arXiv papers.

This package is the shared kernel: settings, errors, storage and the CLI.
The components live beside it: `summarizer` (arXiv id → stored review),
`bot` (Telegram), `digest` (static site), `demos` (Coconut and iCoT reproductions).
"""

__version__ = "0.1.0"
