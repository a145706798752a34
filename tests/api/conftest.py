"""The API's tests: a token per person, and a client that sends it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from core.tokens import token_create


class ApiClient:
    """A test client speaking JSON with a Bearer token."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.token = token

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"accept-language": "en"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers | (extra or {})

    def get(self, url: str, params: dict[str, Any] | None = None, **headers: str):
        return self.client.get(url, params or {}, headers=self._headers(headers))

    def send(
        self, method: str, url: str, body: Any = None, *, raw: bytes | None = None, **headers: str
    ):
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        send = getattr(self.client, method.lower())
        return send(url, data=data, content_type="application/json", headers=self._headers(headers))

    def post(self, url: str, body: Any = None, **headers: str):
        return self.send("POST", url, body, **headers)

    def put(self, url: str, body: Any = None, **headers: str):
        return self.send("PUT", url, body, **headers)


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()  # rate-limit counters and the webhook endpoints' cache
    yield
    cache.clear()


@pytest.fixture
def api_for():
    def make(user, **kwargs: Any) -> ApiClient:
        _token, raw = token_create(user=user, name="test", **kwargs)
        return ApiClient(raw)

    return make
