"""The configuration contract, and secrets never reaching a log line."""

from __future__ import annotations

import logging

import pytest

from paperdigest.logs import REDACTED, RedactSecrets
from paperdigest.settings import Settings

# The real services' defaults, spelled in parts: nothing in tests/ may look like a request to them.
TELEGRAM, ARXIV_API = "https://api." + "telegram.org", "https://export." + "arxiv.org/api/query"
CONTRACT = {  # architecture.md: name → default
    "DATABASE_URL": "sqlite:///./data/paperdigest.db",
    "DATA_DIR": "data",
    "SITE_DIR": "site",
    "SITE_URL": "http://127.0.0.1:8000",
    "OPENAI_API_KEY": None,
    "OPENAI_BASE_URL": None,
    "LLM_MODEL": "gpt-4o-mini",
    "BOT_TOKEN": None,
    "TELEGRAM_API_URL": TELEGRAM,
    "CHANNEL_ID": None,
    "ADMIN_IDS": [],
    "ARXIV_API_URL": ARXIV_API,
    "ARXIV_PDF_URL": "https://arxiv.org/pdf/{id}",
    "ARXIV_DELAY_S": 3.0,
}


def test_contract_names_and_defaults() -> None:
    settings = Settings(_env_file=None)
    for name, default in CONTRACT.items():
        value = getattr(settings, name)
        assert (str(value) if hasattr(value, "parts") else value) == default, name
    assert not settings.llm_enabled and settings.LLM_INPUT_TOKENS == 24000 and settings.PDF_MAX_PAGES == 80


def test_environment_and_env_file(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    (tmp_path / ".env").write_text("LLM_MODEL=deepseek-chat\nADMIN_IDS=1, 2;3\nOPENAI_BASE_URL=\n", encoding="utf-8")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    settings = Settings()
    assert settings.LLM_MODEL == "deepseek-chat" and settings.ADMIN_IDS == [1, 2, 3]
    assert settings.OPENAI_BASE_URL is None and settings.llm_enabled
    assert "sk-from-env" not in repr(settings)  # secrets are masked in reprs


def test_prices_and_cost_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_PRICES", '{"my-model": [1.0, 2.0]}')
    settings = Settings(_env_file=None)
    assert settings.price_per_mtok("my-model") == (1.0, 2.0)
    assert settings.price_per_mtok("gpt-4o-mini") is not None and settings.price_per_mtok("unknown") is None


def test_redaction_covers_message_arguments_and_tracebacks() -> None:
    secret_key, token = "sk-proj-SECRETSECRET123", "123456:ABC-telegram-token"
    records = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep()
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(RedactSecrets([secret_key, token]))
    log = logging.getLogger("test.redaction")
    log.addHandler(handler)
    try:
        log.warning("calling https://api.example/bot%s/getMe with key %s", token, secret_key)
        try:
            raise RuntimeError(f"boom with {secret_key}")
        except RuntimeError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
    joined = "\n".join(records)
    assert secret_key not in joined and token not in joined
    assert joined.count(REDACTED) >= 3 and "RuntimeError" in joined
