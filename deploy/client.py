"""A small client of the deployed REST API (what `predict`, `demo`, the tests and the benchmark use).

It speaks the public contract only: POST JSON to the invoke URL with the `x-api-key` header.
One keep-alive connection per client, so latency figures measure the stack, not TCP setup.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # the decoded JSON body, or the raw text when it is not JSON
    seconds: float
    headers: dict[str, str]


class ApiClient:
    """POSTs to one invoke URL, with or without an API key."""

    def __init__(self, invoke_url: str, api_key: str | None, timeout: float = 60.0) -> None:
        self.invoke_url = invoke_url
        self.api_key = api_key
        self._http = httpx.Client(timeout=timeout)

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["x-api-key"] = self.api_key
        return headers

    def post_raw(self, body: bytes, params: dict[str, str] | None = None) -> Answer:
        started = time.perf_counter()
        response = self._http.post(self.invoke_url, content=body, headers=self._headers(), params=params)
        seconds = time.perf_counter() - started
        try:
            decoded: Any = response.json()
        except ValueError:
            decoded = response.text
        return Answer(response.status_code, decoded, seconds, dict(response.headers))

    def predict(self, data: Any, verbose: bool = False) -> Answer:
        """`data`: one CSV row (-> "B"/"M") or a list of rows (-> a list of labels)."""
        payload: dict[str, Any] = {"data": data}
        if verbose:
            payload["verbose"] = True
        return self.post_raw(json.dumps(payload).encode())

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "ApiClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
