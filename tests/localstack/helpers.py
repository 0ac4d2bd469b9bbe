"""Small helpers for the LocalStack Lambda/API Gateway tests: zip handler source, create and wait."""

from __future__ import annotations

import io
import json
import os
import textwrap
import threading
import uuid
import zipfile

import psutil

TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)


def zip_source(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, source in files.items():
            zf.writestr(name, textwrap.dedent(source))
    return buf.getvalue()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def ensure_role(iam) -> str:
    name = "sagestack-test-lambda-role"
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_POLICY)["Role"]["Arn"]


def create_function(lam, iam, source: str | dict[str, str], *, name: str | None = None,
                    handler: str = "handler.handler", runtime: str = "python3.12", **kwargs) -> str:
    """Create a function from handler source (or a dict of files) and wait until it is Active."""
    name = name or unique("fn")
    files = source if isinstance(source, dict) else {"handler.py": source}
    lam.create_function(
        FunctionName=name,
        Runtime=runtime,
        Role=ensure_role(iam),
        Handler=handler,
        Code={"ZipFile": zip_source(files)},
        **kwargs,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
    return name


def invoke_json(lam, name: str, event: object = None, **kwargs) -> tuple[dict, object]:
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event if event is not None else {}), **kwargs)
    raw = response["Payload"].read()
    return response, (json.loads(raw) if raw else None)


def worker_pid(log_stream_name: str) -> int | None:
    """The host pid of the worker (the function's Python) of the environment writing `log_stream_name`.

    A function cannot know its host pid (its environment has a PID namespace of its own where
    bubblewrap is available), so tests find the worker from the host: each environment's
    worker carries its own AWS_LAMBDA_LOG_STREAM_NAME (context.log_stream_name).
    """
    for proc in psutil.process_iter(["cmdline", "environ"]):
        try:
            cmdline, env = proc.info["cmdline"] or [""], proc.info["environ"] or {}
        except psutil.Error:
            continue
        if env.get("AWS_LAMBDA_LOG_STREAM_NAME") == log_stream_name and \
                os.path.basename(cmdline[0]).startswith("python"):
            return proc.pid
    return None


def process_gone(pid: int | None) -> bool:
    try:
        return pid is None or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def read_concurrently(read, threads: int = 4) -> list:
    """What `read()` returned in each of `threads` threads started at once (for lazily built attributes)."""
    seen: list = []
    readers = [threading.Thread(target=lambda: seen.append(read())) for _ in range(threads)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    return seen


def proxy_api(lam, apigw, function: str, *, method: str = "POST", stage: str = "prod", path_part: str | None = None) -> str:
    """A REST API whose root (or `/path_part`) sends `method` to `function` as AWS_PROXY, deployed to `stage`."""
    from contract import names

    arn = lam.get_function(FunctionName=function)["Configuration"]["FunctionArn"]
    api = apigw.create_rest_api(name=unique("api"))["id"]
    resource = apigw.get_resources(restApiId=api)["items"][0]["id"]
    if path_part:
        resource = apigw.create_resource(restApiId=api, parentId=resource, pathPart=path_part)["id"]
    apigw.put_method(restApiId=api, resourceId=resource, httpMethod=method, authorizationType="NONE")
    apigw.put_integration(
        restApiId=api, resourceId=resource, httpMethod=method, type="AWS_PROXY", integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{names.DEFAULT_REGION}:lambda:path/2015-03-31/functions/{arn}/invocations",
    )
    apigw.create_deployment(restApiId=api, stageName=stage)
    return api
