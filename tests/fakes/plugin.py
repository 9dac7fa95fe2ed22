"""pytest fixtures for the local fake servers.

Each server starts once per session (binding a port and a thread costs more than a
test); the function-scoped fixtures hand the same running server to every test after
resetting it, so no test sees another's papers, faults, responder or request log.

Register with ``pytest_plugins = ["tests.fakes.plugin"]`` in ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.arxiv import FakeArxiv
from tests.fakes.llm import FakeLLM

FAKE_LLM_KEY = "sk-test"


@pytest.fixture(scope="session")
def fake_arxiv_server() -> Iterator[FakeArxiv]:
    with FakeArxiv() as fake:
        yield fake


@pytest.fixture(scope="session")
def fake_llm_server() -> Iterator[FakeLLM]:
    with FakeLLM(api_key=FAKE_LLM_KEY) as fake:
        yield fake


@pytest.fixture
def fake_arxiv(fake_arxiv_server: FakeArxiv) -> FakeArxiv:
    """The session's FakeArxiv with no papers, faults or recorded requests."""
    fake_arxiv_server.reset()
    return fake_arxiv_server


@pytest.fixture
def fake_llm(fake_llm_server: FakeLLM) -> FakeLLM:
    """The session's FakeLLM with the default responder, no latency, faults or requests."""
    fake_llm_server.reset()
    return fake_llm_server
