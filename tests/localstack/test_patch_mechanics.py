"""How patches are armed and the shared Lambda timers: unit level, no LocalStack needed, plus the
gateway's buffered responses seen from a client of a running LocalStack."""

from __future__ import annotations

import http.client
import importlib
import json
import re
import sys
import threading
import time
import types

import pytest

from contract import names
from emulator.localstack.plugin.sagestack_localstack import patches
from emulator.localstack.plugin.sagestack_localstack.patches.lambda_shared_timers import SharedTimer
from tests.localstack.helpers import read_concurrently


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


@pytest.fixture
def fake_package(monkeypatch, tmp_path):
    """A package on sys.path for stand-in patches to wrap; every module of it is forgotten afterwards."""
    package = f"sagestack_fake_pkg_{id(tmp_path)}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    yield package, tmp_path / package
    for name in [n for n in sys.modules if package in n]:
        sys.modules.pop(name)


def test_catalog_modules_are_stand_ins_that_forward_to_the_real_module_on_first_use(fake_package):
    from emulator.localstack.plugin.sagestack_localstack.patches import modules_on_demand as patch

    package, directory = fake_package
    (directory / "catalog.py").write_text(
        "LOADED = True\n"
        "class Catalog:\n    pass\n"
        "def get_catalog(kind='aws'):\n    return (kind, Catalog)\n"
    )
    (directory / "importer.py").write_text(f"from {package}.catalog import get_catalog\n")  # like handlers.service
    name = f"{package}.catalog"
    patch.install({name: ("get_catalog",)})
    importer = importlib.import_module(f"{package}.importer")
    assert isinstance(sys.modules[name], patch._StandIn)  # imported, but nothing of it ran
    assert "LOADED" not in vars(sys.modules[name])
    kind, catalog_class = importer.get_catalog("s3")  # first use: the real module, under its own name
    real = sys.modules[name]
    assert not isinstance(real, patch._StandIn) and real.LOADED
    assert (kind, catalog_class) == ("s3", real.Catalog)
    assert importlib.import_module(name) is real and getattr(sys.modules[package], "catalog") is real
    assert importer.get_catalog() == ("aws", real.Catalog)


def test_a_second_thread_waits_for_the_real_module_another_thread_is_still_importing(fake_package):
    """Request threads use stand-ins concurrently: one that arrives while another thread runs the real
    module's code must get the finished module, not the half-initialised one already in sys.modules."""
    from emulator.localstack.plugin.sagestack_localstack.patches import modules_on_demand as patch

    package, directory = fake_package
    (directory / "slow.py").write_text(
        "import threading, time\n"
        "STARTED = threading.Event()\n"
        f"import {package} as _pkg\n"
        "_pkg.slow_started = STARTED\n"
        "STARTED.set()\n"
        "time.sleep(0.5)\n"
        "def late():\n    return 'defined after the sleep'\n"
    )
    name = f"{package}.slow"
    patch.install({name: ("late",)})
    stand_in = importlib.import_module(name)
    results: list[object] = []

    def use() -> None:
        try:
            results.append(stand_in.late())
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion
            results.append(exc)

    first = threading.Thread(target=use)
    first.start()
    deadline = time.monotonic() + 10
    while getattr(sys.modules[package], "slow_started", None) is None and time.monotonic() < deadline:
        time.sleep(0.005)
    second = threading.Thread(target=use)  # the real module is in sys.modules now, still running its code
    second.start()
    first.join()
    second.join()
    assert results == ["defined after the sleep"] * 2


def test_a_catalog_stand_in_loads_the_real_module_for_any_other_name_and_keeps_it_when_that_fails(fake_package):
    from emulator.localstack.plugin.sagestack_localstack.patches import modules_on_demand as patch

    package, directory = fake_package
    (directory / "broken.py").write_text("raise RuntimeError('real module failed')\n")
    (directory / "errors.py").write_text("class Unsupported(Exception):\n    pass\ndef word():\n    return 'x'\n")
    patch.install({f"{package}.broken": ("f",), f"{package}.errors": ("word",)})
    errors = importlib.import_module(f"{package}.errors")
    assert isinstance(errors, patch._StandIn)
    unsupported = errors.Unsupported  # not one of the forwarded functions: the real module loads
    assert sys.modules[f"{package}.errors"].Unsupported is unsupported and issubclass(unsupported, Exception)
    broken = importlib.import_module(f"{package}.broken")
    with pytest.raises(RuntimeError, match="real module failed"):
        broken.f()
    assert sys.modules[f"{package}.broken"] is broken  # a failed load leaves the stand-in answering


def test_presigned_url_handler_is_a_stand_in_until_the_first_request_of_its_service(fake_package, monkeypatch):
    from emulator.localstack.plugin.sagestack_localstack.patches import presigned_url_on_demand as patch

    package, directory = fake_package
    (directory / "sibling.py").write_text("MARK = 'sibling'\n")
    # the "real" module: it fails if imported under its own name, and uses a relative import as LocalStack's does
    (directory / "presigned.py").write_text(
        "if __name__.endswith('.presigned'): raise ImportError('the real module was imported')\n"
        "from .sibling import MARK\n"
        "CALLS = []\n"
        "class ParsePreSignedUrlRequest:\n"
        "    def __call__(self, chain, context, response):\n"
        "        CALLS.append(context.service.service_name)\n"
        "        return MARK\n"
    )
    monkeypatch.setattr(patch, "MODULE", f"{package}.presigned")
    monkeypatch.setattr(patch, "_origin", [])
    patch.apply()
    handler = importlib.import_module(f"{package}.presigned").ParsePreSignedUrlRequest()

    def context(service: str | None):
        return types.SimpleNamespace(service=types.SimpleNamespace(service_name=service) if service else None)

    real_name = f"_sagestack_real_{package}_presigned"
    assert handler("chain", context(None), "response") is None
    assert handler("chain", context("lambda"), "response") is None
    assert real_name not in sys.modules  # nothing loaded for requests it does not handle
    assert handler("chain", context("s3"), "response") == "sibling"
    assert handler("chain", context("s3"), "response") == "sibling"
    assert sys.modules[real_name].CALLS == ["s3", "s3"]


def test_s3_presigned_urls_still_work_through_the_gateway(localstack, localstack_session):
    s3 = localstack_session.client("s3", endpoint_url=localstack.url)
    s3.create_bucket(Bucket="presigned-check")
    s3.put_object(Bucket="presigned-check", Key="k.txt", Body=b"hello")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "presigned-check", "Key": "k.txt"}, ExpiresIn=60)
    path = url.split(f":{localstack.port}", 1)[1]
    answer = _request(localstack.port, "GET", path)
    assert answer.status == 200 and answer.body == b"hello"  # type: ignore[attr-defined]
    assert "Expires=" in path  # query-string auth: what LocalStack's pre-signed URL handler checks
    malformed = _request(localstack.port, "GET", re.sub(r"Expires=\d+", "Expires=soon", path))
    assert malformed.status == 403 and b"SignatureDoesNotMatch" in malformed.body  # type: ignore[attr-defined]


def test_an_operation_localstack_does_not_implement_still_gets_its_catalog_answer(lam):
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as error:
        lam.get_runtime_management_config(FunctionName="any")
    response = error.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert response["Error"]["Code"] == "InternalFailure"
    # worded by LocalStack's service catalog (loaded by this first use: patches/modules_on_demand.py)
    assert "service lambda" in response["Error"]["Message"] and "emulated by LocalStack" in response["Error"]["Message"]


def test_the_managed_policy_index_is_built_once_on_first_read_even_by_concurrent_requests():
    from emulator.localstack.plugin.sagestack_localstack.patches import iam_managed_policies_on_demand as patch

    class Provider:  # LocalStack's IamProvider as the patch sees it
        _aws_managed_policy_cache = property(patch.managed_policy_cache, patch._store)

        def __init__(self) -> None:
            self.builds = 0
            self._aws_managed_policy_cache = None  # what LocalStack's __init__ does

        def _build_aws_managed_policy_cache(self) -> dict:
            self.builds += 1
            time.sleep(0.05)
            return {"arn:aws:iam::aws:policy/P": "entity"}

    provider = Provider()
    assert provider.builds == 0  # nothing built until read
    seen = read_concurrently(lambda: provider._aws_managed_policy_cache)
    assert provider.builds == 1 and all(index is seen[0] for index in seen)
    assert seen[0] == {"arn:aws:iam::aws:policy/P": "entity"}


def test_aws_managed_policies_are_listed_and_attachable_as_before(iam):
    arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    listed = iam.get_paginator("list_policies").paginate(Scope="AWS").build_full_result()["Policies"]
    assert arn in {p["Arn"] for p in listed} and len(listed) > 1000
    iam.create_role(RoleName="managed-policy-check", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}))
    iam.attach_role_policy(RoleName="managed-policy-check", PolicyArn=arn)
    attached = iam.list_attached_role_policies(RoleName="managed-policy-check")["AttachedPolicies"]
    assert attached == [{"PolicyName": "AWSLambdaBasicExecutionRole", "PolicyArn": arn}]
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as missing:
        iam.attach_role_policy(RoleName="managed-policy-check", PolicyArn="arn:aws:iam::aws:policy/NoSuchPolicyAnywhere")
    assert missing.value.response["Error"]["Code"] == "NoSuchEntity"


def test_a_lazy_client_is_built_once_on_first_read_and_can_be_replaced():
    from emulator.localstack.plugin.sagestack_localstack.patches.s3_website_client_on_demand import lazy_client

    made: list[object] = []

    class Handler:
        s3_client = lazy_client(lambda: made.append(object()) or made[-1])

    first, second = Handler(), Handler()
    assert made == []  # nothing built by creating handlers
    assert first.s3_client is first.s3_client and len(made) == 1
    second.s3_client = "given"
    assert second.s3_client == "given" and len(made) == 1


def test_s3_static_websites_are_still_served(localstack, localstack_session):
    s3 = localstack_session.client("s3", endpoint_url=localstack.url)
    s3.create_bucket(Bucket="website-check")
    s3.put_object(Bucket="website-check", Key="index.html", Body=b"<p>home</p>", ContentType="text/html")
    s3.put_bucket_website(Bucket="website-check", WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    conn = http.client.HTTPConnection(names.LOOPBACK, localstack.port, timeout=30)
    try:
        for path, status, body in (("/", 200, b"<p>home</p>"), ("/missing.html", 404, None)):
            conn.request("GET", path, headers={"Host": f"website-check.s3-website.localhost:{localstack.port}"})
            answer = conn.getresponse()
            content = answer.read()
            assert answer.status == status and (body is None or content == body)
    finally:
        conn.close()


def test_a_package_stand_in_lets_submodules_load_without_running_the_package_init(fake_package):
    from emulator.localstack.plugin.sagestack_localstack.patches import modules_on_demand as patch

    package, directory = fake_package
    heavy = directory / "heavy"
    (heavy / "validation").mkdir(parents=True)
    (heavy / "__init__.py").write_text(
        f"import sys\nsys.modules['{package}'].INITS = getattr(sys.modules['{package}'], 'INITS', 0) + 1\n"
        f"from {package}.heavy.validation import check as validate\n"
    )
    (heavy / "validation" / "__init__.py").write_text("from .rules import check\n")
    (heavy / "validation" / "rules.py").write_text(
        "from .exceptions import Invalid\ndef check(doc):\n    if 'info' not in doc:\n        raise Invalid('no info')\n    return 'valid'\n"
    )
    (heavy / "validation" / "exceptions.py").write_text("class Invalid(ValueError):\n    pass\n")
    (directory / "user.py").write_text(  # what moto's API Gateway models do
        f"from {package}.heavy import validate\nfrom {package}.heavy.validation.exceptions import Invalid\n"
    )
    patch.install({f"{package}.heavy": ("validate",), f"{package}.heavy.validation": ()})
    user = importlib.import_module(f"{package}.user")
    assert getattr(sys.modules[package], "INITS", 0) == 0  # neither package __init__ ran
    assert isinstance(sys.modules[f"{package}.heavy"], patch._StandIn)
    assert issubclass(user.Invalid, ValueError)
    with pytest.raises(user.Invalid, match="no info"):  # first use: the real packages load, same classes
        user.validate({})
    assert sys.modules[package].INITS == 1
    assert user.validate({"info": {}}) == "valid"
    assert not isinstance(sys.modules[f"{package}.heavy"], patch._StandIn)
    assert sys.modules[f"{package}.heavy.validation.exceptions"].Invalid is user.Invalid


def test_a_stand_in_is_never_served_for_a_module_that_is_not_installed(fake_package):
    from emulator.localstack.plugin.sagestack_localstack.patches import modules_on_demand as patch

    package, _ = fake_package
    patch.install({f"{package}.absent": ("f",)})
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(f"{package}.absent")


def test_rest_apis_are_still_imported_from_openapi_documents(apigw):
    document = {
        "openapi": "3.0.1", "info": {"title": "import-check", "version": "1", "description": "d"},
        "paths": {"/ping": {"get": {"responses": {"200": {"description": "ok"}},
                                    "x-amazon-apigateway-integration": {"type": "MOCK",
                                                                        "requestTemplates": {"application/json": "{\"statusCode\": 200}"}}}}},
    }
    api = apigw.import_rest_api(body=json.dumps(document).encode(), failOnWarnings=True)
    try:
        paths = {r["path"] for r in apigw.get_resources(restApiId=api["id"])["items"]}
        assert api["name"] == "import-check" and paths == {"/", "/ping"}
    finally:
        apigw.delete_rest_api(restApiId=api["id"])


ACCESS_LOG_SCRIPT = r"""
import json, types
from twisted.logger import globalLogBeginner
from twisted.web import server
from twisted.web.resource import Resource
from sagestack_localstack.patches import twisted_access_log_unread as patch

patch.apply()
site = server.Site(Resource())
site.startFactory()  # no log path: lines go to twisted.python.log.logfile, as LocalStack's gateway does
formatted = []
site._logFormatter = lambda timestamp, request: formatted.append(request.uri) or "line"
site.log(types.SimpleNamespace(uri="/unread"))
seen = []
globalLogBeginner.beginLoggingTo([seen.append], redirectStandardIO=False, discardBuffer=True)
site.log(types.SimpleNamespace(uri="/read"))
print(json.dumps({"formatted": formatted, "events": sum(1 for e in seen if e.get("log_io") == "line")}))
"""


def test_access_log_lines_are_formatted_only_once_twisted_logging_has_a_reader():
    # twisted_access_log_unread: before beginLoggingTo nothing is formatted; after it, lines flow as shipped
    import subprocess

    from emulator.localstack import runtime_venv

    python = runtime_venv.venv_python(runtime_venv.ensure_venv())
    done = subprocess.run([str(python), "-c", ACCESS_LOG_SCRIPT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"formatted": ["/read"], "events": 1}
