"""The stack's services load in the background on the first AWS request, not at ready (plugin warm_up.py)."""

from __future__ import annotations

import threading
import time
import types

import pytest

from emulator.localstack.plugin.sagestack_localstack.warm_up import WarmUp


def _context(path: str):
    return types.SimpleNamespace(request=types.SimpleNamespace(path=path))


def _warm_up(loaded: list[str], done: threading.Event) -> WarmUp:
    return WarmUp(["sts", "s3"], loaded.append, done.set)


def test_internal_routes_start_nothing_and_the_first_aws_request_starts_it_once():
    loaded: list[str] = []
    done = threading.Event()
    warm = _warm_up(loaded, done)
    for path in ("/_localstack/health", "/_localstack/info", "/_localstack/init/ready"):
        warm.request_handler(None, _context(path), None)
    assert not warm.started and loaded == []
    warm.request_handler(None, _context("/"), None)
    assert done.wait(10) and loaded == ["sts", "s3"]
    warm.request_handler(None, _context("/_aws/execute-api/abc/prod/x"), None)
    assert warm.start() is False and loaded == ["sts", "s3"]  # once only


def test_concurrent_first_requests_start_one_warm_up():
    loaded: list[str] = []
    done = threading.Event()
    warm = _warm_up(loaded, done)
    barrier = threading.Barrier(8)
    started: list[bool] = []

    def first_request() -> None:
        barrier.wait()
        started.append(warm.start())

    threads = [threading.Thread(target=first_request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert done.wait(10)
    assert started.count(True) == 1 and loaded == ["sts", "s3"]


def test_a_service_that_fails_to_load_does_not_stop_the_others_and_the_end_is_still_signalled():
    loaded: list[str] = []
    done = threading.Event()

    def require(api: str) -> None:
        if api == "s3":
            raise RuntimeError("broken")
        loaded.append(api)

    warm = WarmUp(["s3", "iam"], require, done.set)
    warm.start()
    assert done.wait(10) and loaded == ["iam"]


def test_the_collector_is_handed_back_by_an_unused_server_and_left_to_the_warm_up_otherwise():
    resumed: list[str] = []
    unused = _warm_up([], threading.Event())
    unused.resume_gc_if_unused(lambda: resumed.append("timer"), after_s=0.05).join(5)
    assert resumed == ["timer"]
    used = _warm_up([], threading.Event())
    used.start()
    used.resume_gc_if_unused(lambda: resumed.append("timer again"), after_s=0.05).join(5)
    assert resumed == ["timer"]  # the warm-up's end resumes it instead


@pytest.mark.integration
def test_a_server_that_only_answered_health_has_loaded_no_service_until_an_aws_request(tmp_path):
    from contract.net import free_port
    from emulator.localstack.launcher import LocalStackProcess

    with LocalStackProcess(port=free_port(), state_dir=tmp_path) as ls:
        for _ in range(20):  # health polls, as the launcher and compose's healthcheck make
            ls.health()
            time.sleep(0.05)
        states = ls.health()["services"]
        assert all(states[s] != "running" for s in ls.warm_services), states
        warm = ls.wait_warm(timeout=180)  # one AWS request, then every stack service loads
        assert all(warm["services"][s] == "running" for s in ls.warm_services)


@pytest.mark.integration
@pytest.mark.parametrize("attempt", [1, 2])
def test_first_requests_to_several_services_at_once_all_succeed_while_the_warm_up_runs(tmp_path, attempt):
    """Each first request loads its service while the warm-up loads others (patches/service_loads_serialized.py).

    Before service loads were serialised, a Lambda request racing the warm-up's Logs load saw moto's core
    half-imported (`cannot import name ... from partially initialized module 'moto.core.utils'`) and Lambda
    stayed broken until restart, in 3 of 4 fresh starts.
    """
    import boto3
    from botocore.config import Config

    from contract.net import free_port
    from emulator.localstack.launcher import LocalStackProcess

    with LocalStackProcess(port=free_port(), state_dir=tmp_path) as ls:
        session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
        config = Config(retries={"max_attempts": 0}, read_timeout=120)

        def client(name: str):
            return session.client(name, endpoint_url=ls.url, config=config)

        calls = {
            "lambda": lambda c: c.list_functions(),
            "iam": lambda c: c.list_roles(),
            "logs": lambda c: c.describe_log_groups(),
            "sts": lambda c: c.get_caller_identity(),
            "s3": lambda c: c.list_buckets(),
            "apigateway": lambda c: c.get_rest_apis(),
        }
        clients = {name: client(name) for name in calls}
        # a SageMaker request (forwarded: no LocalStack service) starts the warm-up, as in `sagestack up`
        with pytest.raises(Exception):
            client("sagemaker").list_endpoints()
        barrier = threading.Barrier(len(calls))
        failures: dict[str, str] = {}

        def first_call(name: str) -> None:
            barrier.wait()
            try:
                calls[name](clients[name])
            except Exception as exc:  # what a user's first call would get
                failures[name] = repr(exc)

        threads = [threading.Thread(target=first_call, args=(name,)) for name in calls]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(180)
        assert failures == {}
        # and every service still answers once the warm-up is over
        ls.wait_warm(timeout=180)
        for name, call in calls.items():
            call(clients[name])
