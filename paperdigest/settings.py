"""Settings: the configuration contract of docs/architecture, read once in `main()`.

Nothing reads the environment at import time: `Settings()` is built at the edge
(the CLI callback) and passed down as an argument.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from typing_extensions import Annotated

from paperdigest.quiet_hours import parse_quiet_hours

# USD per million tokens (input, output); an operator overrides with LLM_PRICES.
DEFAULT_PRICES = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "deepseek-chat": (0.27, 1.10),
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # --- the configuration contract (architecture.md) ---
    DATABASE_URL: str = "sqlite:///./data/paperdigest.db"
    DATA_DIR: Path = Path("./data")
    SITE_DIR: Path = Path("./site")
    SITE_URL: str = "http://127.0.0.1:8000"
    OPENAI_API_KEY: SecretStr | None = None
    OPENAI_BASE_URL: str | None = None
    LLM_MODEL: str = "gpt-4o-mini"
    BOT_TOKEN: SecretStr | None = None
    TELEGRAM_API_URL: str = "https://api.telegram.org"
    CHANNEL_ID: str | None = None
    ADMIN_IDS: Annotated[list[int], NoDecode] = Field(default_factory=list)
    ARXIV_API_URL: str = "https://export.arxiv.org/api/query"
    ARXIV_PDF_URL: str = "https://arxiv.org/pdf/{id}"
    ARXIV_DELAY_S: float = 3.0

    # --- the review pipeline ---
    ARXIV_TIMEOUT_S: float = 30.0
    ARXIV_RETRIES: int = 4
    RETRY_BASE_S: float = 2.0  # first back-off delay; it doubles per try
    PDF_MAX_MB: float = 50.0
    PDF_DEADLINE_S: float = 120.0
    PDF_MAX_PAGES: int = 80
    EXTRACT_TIMEOUT_S: float = 60.0
    EXTRACT_MEMORY_MB: int = 1024
    LLM_INPUT_TOKENS: int = 24000
    LLM_OUTPUT_TOKENS: int = 4000
    LLM_TIMEOUT_S: float = 180.0
    # A job, the relay or the watcher's round whose holder has not renewed its lease for this
    # long is taken over by another process (paperdigest/leases.py); holders renew every third of it.
    LEASE_S: Annotated[float, Field(gt=0)] = 60.0
    LLM_RETRIES: int = 4
    LLM_TEMPERATURE: float = 0.3
    LLM_PRICES: dict[str, tuple[float, float]] = Field(default_factory=dict)
    LLM_CONCURRENCY: int = 4
    # false: `paperdigest bot` only stores requests and delivers; `paperdigest worker`
    # processes on the same database review (and watch) — docs/deployment.md
    REVIEWS_IN_BOT: bool = True
    WORKER_JOBS: Annotated[int, Field(ge=1)] = 4  # review jobs one worker process runs at once

    # --- the bot and the channel ---
    POST_FORMAT: Literal["rich", "classic"] = "rich"
    PUBLISH_USER_REVIEWS: bool = False
    USER_DAILY_REVIEWS: int = 5
    USER_DAILY_QUESTIONS: int = 20  # /ask per user per UTC day; 0: no limit; admins are exempt
    ALLOWED_USER_IDS: Annotated[list[int], NoDecode] = Field(default_factory=list)
    DAILY_TOKEN_BUDGET: int = 0  # tokens per UTC day for all LLM calls; 0: no limit
    CHANNEL_POST_INTERVAL_S: float = 3.0  # at most 20 posts a minute
    CHAT_REPLY_INTERVAL_S: float = 1.0  # per private chat
    TELEGRAM_TIMEOUT_S: float = 30.0
    WEBHOOK_URL: str | None = None  # set: webhook mode (Telegram posts updates here); unset: long polling
    WEBHOOK_SECRET: SecretStr | None = None  # required with WEBHOOK_URL; Telegram echoes it in a header
    WEBHOOK_HOST: str = "127.0.0.1"  # where the webhook server listens (behind your HTTPS proxy)
    WEBHOOK_PORT: int = 8081

    @field_validator("ADMIN_IDS", "ALLOWED_USER_IDS", mode="before")
    @classmethod
    def _split_admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",")]
            return [int(p) for p in parts if p]
        return value

    @field_validator(
        "OPENAI_API_KEY", "BOT_TOKEN", "OPENAI_BASE_URL", "CHANNEL_ID", "WEBHOOK_URL", "WEBHOOK_SECRET", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    def replace(self, **changes: object) -> Settings:
        """A validated copy with some values changed (pydantic's model_copy skips validation)."""
        return type(self)(_env_file=None, **{**self.model_dump(), **changes})  # type: ignore[call-arg]

    @property
    def llm_enabled(self) -> bool:
        """An LLM endpoint is configured; otherwise the offline reviewer writes drafts."""
        return self.OPENAI_API_KEY is not None or self.OPENAI_BASE_URL is not None

    def price_per_mtok(self, model: str) -> tuple[float, float] | None:
        prices = {**DEFAULT_PRICES, **self.LLM_PRICES}
        return prices.get(model)

    def secrets(self) -> list[str]:
        """Every secret value, for the log redaction filter."""
        values = [self.OPENAI_API_KEY, self.BOT_TOKEN, self.WEBHOOK_SECRET]
        return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]

    @property
    def pdf_cache_dir(self) -> Path:
        return self.DATA_DIR / "pdf"

    # --- the watcher ---
    WATCH_CATEGORIES: Annotated[list[str], NoDecode] = Field(default_factory=list)  # e.g. cs.CL,cs.LG
    WATCH_QUERY: str = ""  # arXiv search syntax, ANDed with each category
    WATCH_KEYWORDS: Annotated[list[str], NoDecode] = Field(default_factory=list)  # any of them, title+abstract
    WATCH_EXCLUDE: Annotated[list[str], NoDecode] = Field(default_factory=list)  # none of them
    WATCH_AUTHORS: Annotated[list[str], NoDecode] = Field(default_factory=list)  # always candidates, ranked first
    WATCH_INTEREST: str = ""  # the channel's interests in plain words, for ranking
    WATCH_RANK_MODEL: str | None = None  # None: LLM_MODEL
    WATCH_RANK_BATCH: int = 25  # candidates per ranking call
    WATCH_MAX_PER_DAY: int = 5  # reviews per announcement
    WATCH_INTERVAL_S: float = 3600.0
    WATCH_QUIET_HOURS: str = ""  # "23-8": Moscow hours when posts wait
    WATCH_PAGE_SIZE: int = 200  # listing entries per arXiv request
    WATCH_MAX_PAGES: int = 10  # per category and round: a runaway cursor cannot page forever
    WATCH_TRACK_DAYS: int = 30  # posts younger than this are checked for new versions
    WATCH_STALE_MIN: int = 20  # a category whose recent announcements had at least this many papers...
    WATCH_STALE_AFTER_H: float = 3.0  # ...and none this long after an announcement: admins are told
    REVIEW_NEW_VERSIONS: bool = False
    DAILY_DIGEST: bool = False

    @field_validator("WATCH_CATEGORIES", "WATCH_KEYWORDS", "WATCH_EXCLUDE", "WATCH_AUTHORS", mode="before")
    @classmethod
    def _split_words(cls, value: object) -> object:
        if isinstance(value, str):
            return [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
        return value

    @field_validator("WATCH_QUIET_HOURS")
    @classmethod
    def _check_quiet_hours(cls, value: str) -> str:
        parse_quiet_hours(value)
        return value

    @property
    def watch_rank_model(self) -> str:
        return self.WATCH_RANK_MODEL or self.LLM_MODEL
