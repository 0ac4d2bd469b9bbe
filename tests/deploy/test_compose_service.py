"""The compose deploy service's pieces that need no engine: outputs for the host, written 0600."""

from __future__ import annotations

import json
import os
import stat

from deploy.compose_service import host_outputs
from deploy.outputs import read_outputs, write_outputs


def test_host_outputs_use_the_published_address():
    outputs = {
        "invoke_url": "http://localstack:4566/_aws/execute-api/abc/prod/ml-model-api",
        "api_key": "k" * 40,
        "extra": {"n": 1},
        "endpoint_name": "sagestack",
    }
    public = host_outputs(outputs, "http://localstack:4566", "http://127.0.0.1:32123/")
    assert public["invoke_url"] == "http://127.0.0.1:32123/_aws/execute-api/abc/prod/ml-model-api"
    assert public["api_key"] == outputs["api_key"] and public["extra"] == {"n": 1}
    assert outputs["invoke_url"].startswith("http://localstack:4566/")  # the original is not modified


def test_outputs_file_is_private_even_over_a_readable_one(tmp_path):
    path = tmp_path / "outputs.json"
    path.write_text("{}")
    os.chmod(path, 0o644)
    document = {"invoke_url": "http://127.0.0.1:1/x", "api_key": "secret"}
    write_outputs(document, path=path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_outputs(path) == document
    assert [p.name for p in tmp_path.iterdir()] == ["outputs.json"]  # no temporary file left behind
    assert json.loads(path.read_text())["api_key"] == "secret"

