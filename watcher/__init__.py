"""New papers in the chosen categories become reviews and channel posts by themselves.

listing (arXiv's listings) → screening and ranking → choosing → the round (reviews through the
summarizer's Pipeline, posts queued in the outbox) → following (new versions, withdrawals,
digest, staleness). Its interface for the rest of the house: `watcher.run` (start it beside
a pipeline), `watcher.store` (what the bot's admin commands read), `watcher.report`.
"""
