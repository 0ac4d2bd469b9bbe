"""`sagestack emulator`: run the SageMaker emulator (default 127.0.0.1:4567).

uvicorn with httptools + uvloop, access log off (the emulator writes its own structured
request log), keep-alive long enough for SDK connection pools. The listening socket is
bound here first so "port in use" is a one-line error instead of a traceback.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import socket
import sys
from pathlib import Path

from contract import names
from emulator.sagemaker.config import AUTH_MODES, EmulatorConfig, Limits


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sagestack emulator",
        description="Run the SageMaker emulator: control plane (awsJson1_1 on POST /) and runtime "
        "(POST /endpoints/{name}/invocations) on one port; boto3/the AWS CLI talk to it through an endpoint URL.",
    )
    parser.add_argument("--host", default=names.LOOPBACK, help="interface to bind (default %(default)s; 0.0.0.0 in containers)")
    parser.add_argument("--port", type=int, default=None, help="port (default $SAGESTACK_SAGEMAKER_PORT or 4567)")
    parser.add_argument("--data-dir", type=Path, default=None, help="state directory (default <state dir>/sagemaker)")
    parser.add_argument(
        "--s3-endpoint-url",
        default=None,
        help="S3 endpoint for channels and artifacts (default: $AWS_ENDPOINT_URL_S3 / $AWS_ENDPOINT_URL, else local LocalStack)",
    )
    parser.add_argument("--region", default=None, help="region in ARNs and for S3 (default $AWS_DEFAULT_REGION or us-east-1)")
    parser.add_argument(
        "--transition-delay",
        type=float,
        default=float(os.environ.get("SAGESTACK_SAGEMAKER_TRANSITION_DELAY", "0") or 0),
        help="minimum seconds an endpoint stays Creating/Updating/Deleting, to exercise waiting code (default 0)",
    )
    parser.add_argument(
        "--auth",
        choices=AUTH_MODES,
        default=os.environ.get("SAGESTACK_SAGEMAKER_AUTH", "off"),
        help="credential check: off, access-key (known key ids only) or signature (full SigV4 check)",
    )
    parser.add_argument(
        "--access-key",
        action="append",
        default=[],
        metavar="KEY:SECRET",
        help=f"accepted credentials for --auth (repeatable; default {names.LOCAL_ACCESS_KEY_ID}:{names.LOCAL_SECRET_ACCESS_KEY})",
    )
    parser.add_argument("--max-endpoints", type=int, default=Limits.max_endpoints, help="endpoint quota (default %(default)s)")
    parser.add_argument(
        "--max-instances-per-type",
        type=int,
        default=Limits.max_instances_per_type,
        help="instances per instance type for endpoints and for training jobs (default %(default)s)",
    )
    parser.add_argument("--request-log", default=None, help="JSON-lines request log file, '-' for stderr (default <data dir>/requests.log)")
    parser.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    return parser


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    keys = []
    for item in args.access_key:
        key, sep, secret = item.partition(":")
        if not sep or not key or not secret:
            raise ValueError(f"--access-key {item!r} must look like KEY:SECRET")
        keys.append((key, secret))
    kwargs = {}
    if keys:
        kwargs["access_keys"] = tuple(keys)
    if args.region:
        kwargs["region"] = args.region
    return EmulatorConfig(
        host=args.host,
        port=args.port if args.port is not None else names.sagemaker_port(),
        data_dir=(args.data_dir or names.state_dir() / "sagemaker").resolve(),
        s3_endpoint_url=args.s3_endpoint_url,
        transition_delay=args.transition_delay,
        auth_mode=args.auth,
        limits=Limits(max_endpoints=args.max_endpoints, max_instances_per_type=args.max_instances_per_type),
        request_log=args.request_log,
        **kwargs,
    )


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(config: EmulatorConfig, log_level: str = "warning") -> int:
    import uvicorn

    from emulator.sagemaker.app import create_app
    from emulator.sagemaker.fastpath import protocol_class

    try:
        sock = bind(config.host, config.port)
    except OSError as exc:
        print(
            f"sagestack emulator: cannot listen on {config.host}:{config.port} ({exc.strerror or exc}); "
            "stop whatever uses it or pass --port / set SAGESTACK_SAGEMAKER_PORT",
            file=sys.stderr,
        )
        return 1
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(config)
    # What exists now (modules, botocore's service models, the app) lives for the whole run:
    # moved out of the collector's sight, a full collection walks only what requests made, so
    # it cannot pause the event loop for long while a big request is parsed in a worker.
    gc.collect()
    gc.freeze()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            loop="uvloop",
            http=protocol_class(),  # httptools, with InvokeEndpoint answered in the parser callbacks
            lifespan="on",
            access_log=False,
            proxy_headers=False,  # nothing sits in front of the emulator; skip X-Forwarded-* handling
            log_level=log_level,
            timeout_keep_alive=65,
            server_header=False,
            date_header=False,
        )
    )
    print(
        f"sagestack SageMaker emulator on http://{config.host}:{sock.getsockname()[1]} "
        f"(data {config.data_dir}, S3 {config.resolved_s3_endpoint_url or 'from AWS_ENDPOINT_URL_S3/AWS_ENDPOINT_URL'})",
        file=sys.stderr,
        flush=True,
    )
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, restores the previous handlers and
    # re-raises the signal; with this handler that becomes a clean exit (status 0).
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit_cleanly)
    try:
        server.run(sockets=[sock])
    except SystemExit as exit_:
        return int(exit_.code or 0) if server.started else 1
    return 0 if server.started else 1


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    return serve(config, args.log_level)


if __name__ == "__main__":
    sys.exit(main())
