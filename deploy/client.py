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

# The request of the 2018 AWS blog this kit reproduces (UCI wdbc id 8910251, diagnosis B).
EXAMPLE_ROW = (
    "13.49,22.3,86.91,561.0,0.08752,0.07698,0.04751,0.03384,0.1809,0.05718,0.2338,1.353,1.735,20.2,"
    "0.004455,0.01382,0.02095,0.01184,0.01641,0.001956,15.15,31.82,99.0,698.8,0.1162,0.1711,0.2282,"
    "0.1282,0.2871,0.06917"
)


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
