"""The kit's own `lambda/handler.py`, unmodified, on the local executor behind API Gateway.

It calls SageMaker's InvokeEndpoint with boto3, redirected by the function's
AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME variable. Here that points at a small recording HTTP
server that answers like a Linear Learner endpoint, so the test sees exactly what the worker's
boto3 sent (path, content type, signed region) — the full stack with the real SageMaker
emulator is the e2e suite's job.
"""

from __future__ import annotations

import http.server
import json
import threading

import httpx
import pytest

from contract import names
from tests.localstack.helpers import create_function, unique
from tests.localstack.test_apigateway import _invoke_url, _rest_api_with_post

pytestmark = pytest.mark.integration

# The blog's test request (30 features of a benign tumour).
ROW_B = (
    "13.49,22.3,86.91,561.0,0.08752,0.07698,0.04751,0.03384,0.1809,0.05718,0.2338,1.353,1.735,20.2,"
    "0.004455,0.01382,0.02095,0.01184,0.01641,0.001956,15.15,31.82,99.0,698.8,0.1162,0.1711,0.2282,"
    "0.1282,0.2871,0.06917"
)


@pytest.fixture
def recording_endpoint():
    seen: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append({"path": self.path, "content_type": self.headers["Content-Type"],
                         "authorization": self.headers.get("Authorization", ""), "body": body.decode()})
            answer = json.dumps({"predictions": [{"score": 0.1, "predicted_label": 0}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer((names.LOOPBACK, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{names.LOOPBACK}:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_kit_handler_behind_api_gateway(localstack, lam, iam, apigw, recording_endpoint):
    url, seen = recording_endpoint
    source = (names.PROJECT_ROOT / "lambda" / "handler.py").read_text()
    endpoint_name = unique("wdbc")
    name = create_function(
        lam, iam, {"handler.py": source}, handler="handler.lambda_handler", runtime="python3.13", Timeout=30,
        Environment={"Variables": {"ENDPOINT_NAME": endpoint_name, "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": url}},
    )
    api_id = _rest_api_with_post(apigw, lam, name, {"type": "AWS_PROXY"}, responses=False)
    response = httpx.post(_invoke_url(localstack, api_id), json={"data": ROW_B}, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json() == "B"
    assert len(seen) == 1
    assert seen[0]["path"] == f"/endpoints/{endpoint_name}/invocations"
    assert seen[0]["content_type"] == "text/csv"
    assert [float(x) for x in seen[0]["body"].split(",")] == [float(x) for x in ROW_B.split(",")]
    assert "/us-east-1/sagemaker/aws4_request" in seen[0]["authorization"]
