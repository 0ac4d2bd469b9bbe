"""How patches are armed and the shared Lambda timers: unit level, no LocalStack needed, plus the
gateway's buffered responses seen from a client of a running LocalStack."""

from __future__ import annotations

import http.client
import importlib
import json
import sys
import threading
import time
import types

import pytest

from contract import names
from emulator.localstack.plugin.sagestack_localstack import patches
from emulator.localstack.plugin.sagestack_localstack.patches.lambda_shared_timers import SharedTimer


@pytest.fixture
def fake_stage(monkeypatch, tmp_path):
    """A stage of two fake patches, one waiting for a module not imported yet, one for a loaded one."""
    target = f"sagestack_fake_target_{id(tmp_path)}"
    (tmp_path / f"{target}.py").write_text("READY = False\nVALUE = 41\nREADY = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.setattr(patches, "_applied", set())
    monkeypatch.setattr(patches, "_waiting", {})
    monkeypatch.setattr(patches, "_armed", set())
    seen: list[tuple[str, object]] = []

    def fake(name: str, trigger: str):
        def apply() -> None:  # what a patch sees: the trigger module, fully executed
            module = sys.modules[trigger]
            seen.append((name, getattr(module, "READY", "loaded")))
            if hasattr(module, "VALUE"):
                module.VALUE += 1
        return types.SimpleNamespace(APPLY_ON_IMPORT=trigger, CHECKED_AGAINST="x", apply=apply)

    mods = {"waits": fake("waits", target), "at_once": fake("at_once", "json")}
    monkeypatch.setattr(patches, "module", lambda name: mods[name])
    monkeypatch.setattr(patches, "_warn_if_unchecked", lambda patch: None)
    monkeypatch.setitem(patches.STAGES, "test", ("waits", "at_once"))
    yield target, seen
    sys.modules.pop(target, None)


def test_a_patch_waits_for_its_module_and_is_applied_before_the_import_returns(fake_stage):
    target, seen = fake_stage
    assert patches.apply_on_import("test") == ["at_once"]  # its module is loaded already
    assert seen == [("at_once", "loaded")]
    module = importlib.import_module(target)
    assert seen[-1] == ("waits", True)  # applied after the module body ran ...
    assert module.VALUE == 42  # ... and before the importer got the module
    importlib.reload(module)
    assert len(seen) == 2  # once only
    assert patches.apply_on_import("test") == []


def test_timer_fires_once_in_a_thread_of_its_own_after_its_interval():
    fired: list[tuple[float, str]] = []
    done = threading.Event()
    started = time.monotonic()
    timer = SharedTimer(0.2, lambda tag: (fired.append((time.monotonic(), threading.current_thread().name, tag)),
                                           done.set()), args=["x"])
    timer.start()
    assert timer.is_alive()
    assert done.wait(5)
    assert len(fired) == 1 and fired[0][0] - started >= 0.2 and fired[0][2] == "x"
    assert fired[0][1] != threading.current_thread().name
    with pytest.raises(RuntimeError):
        timer.start()


def test_a_cancelled_timer_never_fires_and_others_keep_their_deadline():
    fired: list[str] = []
    late = SharedTimer(30, lambda: fired.append("late"))
    cancelled = SharedTimer(0.1, lambda: fired.append("cancelled"))
    soon = threading.Event()
    early = SharedTimer(0.3, soon.set)
    late.start(), cancelled.start(), early.start()
    cancelled.cancel()
    assert not cancelled.is_alive()
    assert soon.wait(5)
    late.cancel()
    assert fired == []
    never_started = SharedTimer(0, lambda: fired.append("never"))
    never_started.cancel()  # what LocalStack does with its placeholder keep-alive timer
    assert fired == []


def _request(port: int, method: str, path: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection(names.LOOPBACK, port, timeout=30)
    conn.request(method, path)
    response = conn.getresponse()
    response.body = response.read()  # type: ignore[attr-defined]
    conn.close()
    return response


def test_buffered_responses_keep_their_length_and_head_has_no_body(localstack):
    get = _request(localstack.port, "GET", names.LOCALSTACK_HEALTH_PATH)
    assert get.status == 200 and "services" in json.loads(get.body)  # type: ignore[attr-defined]
    assert int(get.getheader("Content-Length")) == len(get.body)  # type: ignore[attr-defined]
    head = _request(localstack.port, "HEAD", names.LOCALSTACK_HEALTH_PATH)
    assert head.status == 200 and head.body == b""  # type: ignore[attr-defined]
    missing = _request(localstack.port, "GET", "/2015-03-31/functions/no-such-function")
    assert missing.status in (403, 404) and int(missing.getheader("Content-Length")) == len(missing.body)  # type: ignore[attr-defined]


def test_openapi_validation_module_is_a_stand_in_until_validation_is_switched_on(monkeypatch, tmp_path):
    from emulator.localstack.plugin.sagestack_localstack.patches import openapi_validation_on_demand as patch

    package = f"sagestack_fake_handlers_{id(tmp_path)}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    # the "real" module: importing it under its own name would fail the test
    (tmp_path / package / "validation.py").write_text(
        "import sys\n"
        "if __name__.endswith('.validation'): raise ImportError('the real module was imported')\n"
        "CALLS = []\n"
        "class OpenAPIRequestValidator:\n"
        "    def __call__(self, chain, context, response):\n"
        "        CALLS.append((chain, context, response))\n"
        "        return 'validated'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.setattr(patch, "MODULE", f"{package}.validation")
    monkeypatch.setattr(patch, "_origin", [])
    switched_on: dict[str, bool] = {"REQUEST": False, "RESPONSE": False}
    monkeypatch.setattr(patch, "_validation_on", lambda kind: switched_on[kind])
    patch.apply()
    try:
        stand_in = importlib.import_module(f"{package}.validation")
        handler = stand_in.OpenAPIRequestValidator()
        assert handler("chain", "context", "response") is None  # off: nothing loaded, nothing done
        assert not any(name.endswith(f"{package}_validation") for name in sys.modules)
        switched_on["REQUEST"] = True
        assert handler("chain", "context", "response") == "validated"  # on: the real handler answers
        real = sys.modules[f"_sagestack_real_{package}_validation"]
        assert real.CALLS == [("chain", "context", "response")]
        assert stand_in.OpenAPIResponseValidator()("c", "x", "r") is None
    finally:
        for name in [n for n in sys.modules if package in n]:
            sys.modules.pop(name)


def test_moto_patches_still_apply_once_moto_loads(iam):
    # LocalStack's moto patch makes IAM load AWS's managed policies; it now runs when moto is imported
    arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    policy = iam.get_policy(PolicyArn=arn)["Policy"]
    assert policy["PolicyName"] == "AWSLambdaBasicExecutionRole"
    assert iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])["PolicyVersion"]["Document"]


@pytest.mark.parametrize(
    "raw_path, expected",
    [
        ("/2015-03-31/functions/f/invocations", True),
        ("/_aws/execute-api/abc/prod/ml-model-api", True),
        ("/_localstack/health", False),
        ("/_localstack/health/", False),  # werkzeug matches with or without the trailing slash
        ("/_localstack/init/ready", False),
        ("//_localstack//health", False),  # werkzeug merges slashes: the full match decides
    ],
)
def test_only_paths_no_internal_rule_can_match_skip_the_internal_router(raw_path, expected):
    from emulator.localstack.plugin.sagestack_localstack.patches.internal_resources_prefix_check import (
        cannot_match, rule_prefixes)

    prefixes = rule_prefixes(["/_localstack/health", "/_localstack/info", "/_localstack/init/<stage>",
                              "/_localstack/health/"])
    assert cannot_match(prefixes, raw_path) is expected
    assert cannot_match(rule_prefixes(["/<path:path>"]), raw_path) is False  # a catch-all rule: never skipped


def test_internal_routes_still_answer_and_unknown_internal_paths_get_404(localstack):
    assert _request(localstack.port, "GET", "/_localstack/info").status == 200
    assert _request(localstack.port, "GET", "/_localstack/health/").status == 200
    assert _request(localstack.port, "GET", "/_localstack/no-such-resource").status == 404


def test_pool_threads_fed_by_simple_queues_serve_many_connections_at_once(localstack):
    # twisted_threadpool_simple_queue: every request reaches a pool thread and is answered once
    results: list[tuple[int, int, int]] = []
    lock = threading.Lock()

    def client() -> None:
        conn = http.client.HTTPConnection(names.LOOPBACK, localstack.port, timeout=60)
        for path in (names.LOCALSTACK_HEALTH_PATH, "/_localstack/no-such-resource") * 5:
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            with lock:
                results.append((response.status, int(response.getheader("Content-Length")), len(body)))
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 16 * 10
    assert sorted({status for status, _, _ in results}) == [200, 404]
    assert all(length == size for _, length, size in results)
