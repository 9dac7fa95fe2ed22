"""From an arXiv id to a stored review.

fetch metadata → download PDF → extract text → split sections → fit the budget →
write the review (LLM or offline) → validate → store. Knows nothing of Telegram or HTML.
"""
