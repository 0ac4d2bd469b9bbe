"""`sagestack deploy|destroy|status|predict|up|down|demo`: the command-line edge of deploy/.

Each function takes argv and returns an exit code (deploy/cli.py dispatches). Parsing and
printing live here; the work is in deploy.stack (resources), deploy.embedded (services) and
deploy.client (REST calls). Errors a user can cause end as one line saying what to do, exit 1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

from contract import names
from contract.dataset import FEATURE_COUNT
from deploy.config import ALGORITHMS, StackConfig

PROFILE_ENV = "SAGESTACK_PROFILE"


def _err(message: str) -> None:
    print(f"sagestack: {message}", file=sys.stderr)


# The defaults shown in --help are the config's own, never a second copy.
DEFAULTS = StackConfig()


def _log(line: str) -> None:
    print(line, flush=True)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile",
        default=os.environ.get(PROFILE_ENV, names.LOCAL_PROFILE),
        help=f"AWS profile: {names.LOCAL_PROFILE} (the embedded stack, default; ${PROFILE_ENV} overrides) or one from your AWS config",
    )
    parser.add_argument("--region", default=None, help="region (default: the profile's)")
    parser.add_argument("--stack-name", default=DEFAULTS.stack_name, help="prefix of every resource name (default %(default)s)")


def _inputs(parser: argparse.ArgumentParser) -> None:
    """Options that decide what the stack should be (deploy builds it, status compares with it)."""
    parser.add_argument("--stage", default=None, help=f"API Gateway stage (default {DEFAULTS.stage})")
    parser.add_argument("--data", type=Path, default=None, help="a wdbc.data file to train on (default: the copy scikit-learn ships)")
    parser.add_argument("--algorithm", choices=ALGORITHMS, default=None,
                        help=f"SageMaker built-in algorithm to train and serve (default {DEFAULTS.algorithm})")
    parser.add_argument("--hyperparameter", "-H", action="append", metavar="NAME=VALUE", help="override one hyperparameter of the algorithm (repeatable)")
    parser.add_argument("--training-instance-type", default=None, help=f"default {DEFAULTS.training_instance_type}")
    parser.add_argument("--endpoint-instance-type", default=None, help=f"default {DEFAULTS.endpoint_instance_type}")
    parser.add_argument("--throttle-rate", type=float, default=None, help=f"usage plan requests/s (default {DEFAULTS.throttle_rate_limit:g})")
    parser.add_argument("--throttle-burst", type=int, default=None, help=f"usage plan burst (default {DEFAULTS.throttle_burst_limit})")


def _stack_config(args: argparse.Namespace) -> Any:
    from deploy.config import StackConfig

    hyperparameters = {}
    for item in getattr(args, "hyperparameter", None) or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--hyperparameter {item!r} must look like name=value")
        hyperparameters[key] = value
    options: dict[str, Any] = {"stack_name": args.stack_name, "hyperparameters": hyperparameters}
    for attr, field in (
        ("stage", "stage"),
        ("training_instance_type", "training_instance_type"),
        ("endpoint_instance_type", "endpoint_instance_type"),
        ("throttle_rate", "throttle_rate_limit"),
        ("throttle_burst", "throttle_burst_limit"),
        ("data", "data_source"),
        ("algorithm", "algorithm"),
    ):
        value = getattr(args, attr, None)
        if value is not None:
            options[field] = value
    return StackConfig(**options)


def _open_stack(args: argparse.Namespace, log: Callable[[str], None] = _log) -> Any:
    from deploy.profiles import session_for
    from deploy.stack import Stack

    return Stack(session_for(args.profile, args.region), _stack_config(args), log=log)


def _run(body: Callable[[], int]) -> int:
    """Turn the errors a user can cause into one line and exit code 1 (no traceback)."""
    import httpx
    from botocore.exceptions import BotoCoreError, ClientError

    from deploy.config import ConfigError
    from deploy.embedded import EmbeddedError
    from deploy.profiles import ProfileError
    from deploy.stack import DeployError

    try:
        return body()
    except KeyboardInterrupt:
        _err("interrupted; re-run the same command to continue (every step is idempotent)")
        return 130
    except (ProfileError, ConfigError, DeployError, EmbeddedError, ValueError, FileNotFoundError) as exc:
        _err(str(exc))
        return 1
    except ClientError as exc:
        error = exc.response.get("Error", {})
        _err(f"{exc.operation_name} failed: {error.get('Code')}: {error.get('Message')}")
        return 1
    except BotoCoreError as exc:
        _err(f"AWS call failed: {exc}")
        return 1
    except httpx.HTTPError as exc:
        url = exc.request.url if getattr(exc, "_request", None) is not None else "the API"
        _err(f"cannot reach {url}: {exc}; is the stack up (sagestack up) and outputs.json current?")
        return 1


def _write_outputs(outputs: dict[str, Any]) -> Path:
    from deploy.outputs import write_outputs

    return write_outputs(outputs)


def read_outputs(path: Path | None = None) -> dict[str, Any]:
    from deploy.outputs import read_outputs as read

    return read(path)


def _hide_key(show_key: bool, quiet: bool) -> bool:
    """Whether to mask the API key in what we print: under --quiet or CI (logs are kept), unless asked."""
    return not show_key and (quiet or os.environ.get("CI", "").lower() not in {"", "0", "false", "no"})


def _masked(key: str) -> str:
    return f"{key[:4]}... (hidden; in outputs.json, or pass --show-key)"


def _print_outputs(outputs: dict[str, Any], path: Path, hide_key: bool = False) -> None:
    key = _masked(outputs["api_key"]) if hide_key else outputs["api_key"]
    print(f"\n  invoke URL     {outputs['invoke_url']}")
    print(f"  API key        {key}")
    print(f"  endpoint name  {outputs['endpoint_name']}")
    print(f"  outputs        {path}")
    print(
        f"\n  try: curl -s -X POST -H 'x-api-key: {'$KEY' if hide_key else outputs['api_key']}' -H 'Content-Type: application/json' \\\n"
        f"         -d '{{\"data\": \"13.49,22.3,86.91,561.0,...\"}}' {outputs['invoke_url']}"
    )


def _pin_local_ids(stack: Any) -> None:
    """On an emulated gateway, a re-created REST API and key take the ids of the previous local
    deploy of this stack, so a saved invoke URL and key keep working (LocalStack keeps no state)."""
    from deploy.outputs import local_outputs

    previous = local_outputs()
    if stack.target.apigateway_endpoint and previous and previous.get("stack_name") == stack.names.stack and previous.get("account_id") == stack.target.account_id:
        stack.pinned = {"api_id": str(previous.get("api_id", "")), "api_key": str(previous.get("api_key", ""))}


def _confirm_billable(stack: Any, assume_yes: bool) -> bool:
    """On AWS, show what would be created or changed and ask before anything billable happens."""
    if not stack.target.billable:
        return True
    states = stack.status()
    print(f"plan for stack {stack.names.stack!r} in AWS account {stack.target.account_id}, region {stack.target.region}:")
    for state in states:
        cost = "  (billable)" if state.billable and state.action != "keep" else ""
        print(f"  {state.action:<7} {state.kind:<16} {state.name}{cost}")
    to_change = [s for s in states if s.action != "keep"]
    if not to_change:
        return True
    if any(s.billable for s in to_change):
        print(
            f"  note: training runs on {stack.config.training_instance_type}; the endpoint runs on "
            f"{stack.config.endpoint_instance_count} x {stack.config.endpoint_instance_type} and is billed by the hour "
            "until `sagestack destroy`."
        )
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        _err("this creates billable AWS resources; re-run with --yes to confirm (no terminal to ask on)")
        return False
    answer = input("proceed? [y/N] ").strip().lower()
    return answer in {"y", "yes"}


# ---------------------------------------------------------------------- deploy / destroy / status


def deploy(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="sagestack deploy", description="Create or update the whole stack (idempotent).")
    _common(parser)
    _inputs(parser)
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask before creating billable AWS resources")
    parser.add_argument("--json", action="store_true", help="print the outputs as JSON only")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only the outputs, the API key masked")
    parser.add_argument("--show-key", action="store_true", help="print the API key even under --quiet or CI")
    args = parser.parse_args(argv)

    def body() -> int:
        quiet_log = lambda line: None  # noqa: E731
        stack = _open_stack(args, log=(lambda line: print(line, file=sys.stderr, flush=True)) if args.json else (quiet_log if args.quiet else _log))
        if not _confirm_billable(stack, args.yes):
            _err("nothing was created")
            return 1
        _pin_local_ids(stack)
        outputs = stack.deploy().to_json()
        path = _write_outputs(outputs)
        if args.json:
            print(json.dumps(outputs, indent=2))
        else:
            _print_outputs(outputs, path, hide_key=_hide_key(args.show_key, args.quiet))
        return 0

    return _run(body)


def destroy(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="sagestack destroy", description="Remove everything deploy created, the endpoint first. Safe to re-run.")
    _common(parser)
    args = parser.parse_args(argv)

    def body() -> int:
        stack = _open_stack(args)
        _log(f"destroying stack {stack.names.stack!r} in account {stack.target.account_id}, {stack.target.region} (profile {stack.target.profile})")
        deleted = stack.destroy()
        _log(f"deleted {len(deleted)} resource(s)" if deleted else "nothing to delete")
        with contextlib.suppress(FileNotFoundError, ValueError):
            outputs = read_outputs()
            if outputs.get("stack_name") == stack.names.stack and outputs.get("account_id") == stack.target.account_id and outputs.get("region") == stack.target.region:
                names.outputs_path().unlink()
        return 0

    return _run(body)


def status(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="sagestack status", description="Show each resource and whether it exists and matches the inputs.")
    _common(parser)
    _inputs(parser)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--check", action="store_true", help="exit 3 unless every resource exists and matches")
    args = parser.parse_args(argv)

    def body() -> int:
        if args.profile == names.LOCAL_PROFILE and not args.json:
            from deploy.embedded import background_status, describe_services

            record = background_status()
            for line in describe_services(record):
                print(line)
            if record is None:
                return 3 if args.check else 1
        stack = _open_stack(args, log=lambda line: None)
        states = stack.status()
        if args.json:
            print(json.dumps([{**vars(s), "action": s.action} for s in states], indent=2))
        else:
            print(f"stack {stack.names.stack!r}, account {stack.target.account_id}, {stack.target.region} (profile {stack.target.profile})")
            print(f"  {'resource':<16} {'name':<44} {'exists':<7} {'matches':<8} detail")
            for s in states:
                print(f"  {s.kind:<16} {s.name:<44} {'yes' if s.exists else 'no':<7} {'yes' if s.matches else 'no':<8} {s.detail}")
        complete = all(s.exists and s.matches for s in states)
        return 3 if args.check and not complete else 0

    return _run(body)


# ---------------------------------------------------------------------- predict


def _test_split() -> tuple[list[list[float]], list[int]]:
    from training.data import prepare_channels, read_channel_csv

    from deploy.stack import channels_dir

    channels = prepare_channels(channels_dir())
    features, labels = read_channel_csv(Path(channels["test"]))
    return features.tolist(), [int(v) for v in labels]


def _read_rows(path: Path) -> list[str]:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read --file {path}: {exc}; give a text file with one CSV row of 30 numbers per line") from None
    rows = [line.strip() for line in text.splitlines() if line.strip()]
    if not rows:
        raise ValueError(f"{path} holds no rows; one CSV row of 30 numbers per line")
    return rows


def predict(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="sagestack predict", description="Send rows to the deployed REST API and print the labels.")
    parser.add_argument("rows", nargs="*", help=f"CSV rows of {FEATURE_COUNT} numbers (one request each)")
    parser.add_argument("--file", type=Path, help="a file of CSV rows, one per line")
    parser.add_argument("--test-split", action="store_true", help="send the test split and report accuracy and latency")
    parser.add_argument("--batch", action="store_true", help="send all rows in one batch request")
    parser.add_argument("--verbose", action="store_true", help="ask for scores too")
    parser.add_argument("--outputs", type=Path, default=None, help="outputs.json of the stack (default .sagestack/outputs.json)")
    args = parser.parse_args(argv)

    def body() -> int:
        from deploy.client import ApiClient

        outputs = read_outputs(args.outputs)
        client = ApiClient(outputs["invoke_url"], outputs["api_key"])
        if args.test_split:
            features, labels = _test_split()
            return 0 if _report_test_split(client, features, labels) else 1
        rows: list[Any] = list(args.rows)
        if args.file:
            rows += _read_rows(args.file)
        if not rows:
            _err("give rows as arguments, --file FILE or --test-split")
            return 2
        answers = [client.predict(rows, verbose=args.verbose)] if args.batch else [client.predict(row, verbose=args.verbose) for row in rows]
        failed = 0
        for answer in answers:
            print(json.dumps(answer.body) if answer.status == 200 else f"HTTP {answer.status}: {json.dumps(answer.body)}")
            failed += answer.status != 200
        return 1 if failed else 0

    return _run(body)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _report_test_split(client: Any, features: list[list[float]], labels: list[int]) -> bool:
    """One request per test row; print each label, the accuracy and the latency. True if all answered."""
    latencies = []
    correct = 0
    answered = 0
    started = time.perf_counter()
    for index, (row, truth) in enumerate(zip(features, labels)):
        answer = client.predict(",".join(repr(v) for v in row))
        latencies.append(answer.seconds * 1000)
        expected = "M" if truth == 1 else "B"
        if answer.status == 200:
            answered += 1
            correct += answer.body == expected
            mark = "" if answer.body == expected else "   <- wrong"
            print(f"  row {index + 1:>3}: {answer.body}  (true {expected}){mark}")
        else:
            print(f"  row {index + 1:>3}: HTTP {answer.status} {json.dumps(answer.body)}")
    elapsed = time.perf_counter() - started
    total = len(labels)
    print(f"\n  accuracy   {correct}/{total} = {correct / total:.1%} on the test split")
    print(
        f"  latency    p50 {_percentile(latencies, 0.5):.1f} ms, p99 {_percentile(latencies, 0.99):.1f} ms, "
        f"mean {statistics.fmean(latencies):.1f} ms ({total} sequential requests, {total / elapsed:.1f} req/s)"
    )
    return answered == total


# ---------------------------------------------------------------------- up / down / demo


def _purge_local_state() -> list[Path]:
    """Delete the emulator's saved state (models, jobs, endpoints) and the local outputs: `down --purge` only."""
    from deploy.outputs import local_outputs

    removed = []
    state = names.state_dir()
    if (state / "sagemaker").exists():
        shutil.rmtree(state / "sagemaker", ignore_errors=True)
        removed.append(state / "sagemaker")
    if local_outputs() is not None:
        names.outputs_path().unlink()
        removed.append(names.outputs_path())
    return removed


def _prepare_inputs() -> None:
    """Build what deploy hashes (data channels, Lambda zip) while the services boot."""
    from deploy.packaging import build_package
    from deploy.stack import channels_dir
    from training.data import prepare_channels

    prepare_channels(channels_dir())
    build_package()


def up(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="sagestack up", description="Start LocalStack and the SageMaker emulator in the background, then deploy.")
    parser.add_argument("--no-deploy", action="store_true", help="only start the services")
    parser.add_argument("--algorithm", choices=ALGORITHMS, default=None,
                        help=f"SageMaker built-in algorithm to deploy (default {DEFAULTS.algorithm})")
    args = parser.parse_args(argv)

    def body() -> int:
        from deploy.embedded import describe_services, start_background
        from deploy.profiles import local_environment

        started = time.perf_counter()
        record = start_background(log=_log, while_starting=None if args.no_deploy else _prepare_inputs)
        _log(
            f"embedded stack up in {time.perf_counter() - started:.1f} s: LocalStack http://{names.LOOPBACK}:{record['localstack_port']}, "
            f"SageMaker emulator http://{names.LOOPBACK}:{record['sagemaker_port']} (stop with `sagestack down`)"
        )
        for line in describe_services(record)[1:]:
            _log(line)
        env = local_environment()
        _log("  point your own tools at it: " + " ".join(f"{k}={v}" for k, v in env.items()))
        if args.no_deploy:
            return 0
        return deploy(["--profile", names.LOCAL_PROFILE] + (["--algorithm", args.algorithm] if args.algorithm else []))

    return _run(body)


def down(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="sagestack down",
        description="Stop the services started by `sagestack up`. The emulator's state (models, endpoints, jobs) and outputs.json are kept; "
        "the next `sagestack up` brings the same stack back.",
    )
    parser.add_argument("--purge", action="store_true", help="also delete the emulator's saved state and the local outputs.json (asks first)")
    parser.add_argument("--yes", "-y", action="store_true", help="with --purge: do not ask (for scripts)")
    args = parser.parse_args(argv)

    def body() -> int:
        from deploy.embedded import stop_background

        if args.purge and not args.yes:
            if not sys.stdin.isatty():
                _err("--purge deletes the emulator's saved models, endpoints and jobs; re-run with --purge --yes to confirm (no terminal to ask on)")
                return 1
            answer = input(f"delete the emulator's saved state under {names.state_dir() / 'sagemaker'} and the local outputs.json? [y/N] ")
            if answer.strip().lower() not in {"y", "yes"}:
                _err("nothing was deleted")
                return 1
        stopped = stop_background()
        _log("embedded stack stopped" if stopped else "embedded stack was not running")
        if args.purge:
            removed = _purge_local_state()
            _log("purged " + (", ".join(str(p) for p in removed) if removed else "nothing (no saved state)"))
        else:
            _log(f"  the emulator's state is kept under {names.state_dir() / 'sagemaker'} (delete it with `sagestack down --purge`)")
        return 0

    return _run(body)


def demo(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="sagestack demo", description="Train, start, deploy and send the test split through the REST API.")
    parser.add_argument("--keep", action="store_true", help="leave the embedded stack running afterwards")
    parser.add_argument("--algorithm", choices=ALGORITHMS, default=DEFAULTS.algorithm,
                        help="SageMaker built-in algorithm behind the endpoint (default %(default)s)")
    args = parser.parse_args(argv)

    def body() -> int:
        from deploy.client import EXAMPLE_ROW, ApiClient
        from deploy.embedded import background_status, stop_background

        was_running = background_status() is not None
        started = time.perf_counter()
        _log("== 1/5 train locally (cross-validated report)")
        from training.cli import main as train_main

        code = train_main(["--no-plots"])  # the report is text; `sagestack train` writes the plots
        if code:
            _err("training failed; see above")
            return code
        _log(f"\n== 2/5 start the embedded stack and deploy {args.algorithm} (profile sagestack-local)")
        if args.algorithm == DEFAULTS.algorithm:
            _log("  (the same stack with SageMaker's XGBoost: `sagestack demo --algorithm xgboost`)")
        try:
            code = up(["--algorithm", args.algorithm])
            if code:
                return code
            outputs = read_outputs()
            client = ApiClient(outputs["invoke_url"], outputs["api_key"])
            _log(f"\n== 3/5 the test split through {outputs['invoke_url']}")
            features, labels = _test_split()
            ok = _report_test_split(client, features, labels)
            _log("\n== 4/5 the 2018 example's request, a batch and the verbose form")
            first_row = EXAMPLE_ROW
            for label, answer in (
                ("original", client.predict(EXAMPLE_ROW)),
                ("batch of 3", client.predict([",".join(repr(v) for v in r) for r in features[:3]])),
                ("verbose", client.predict(EXAMPLE_ROW, verbose=True)),
            ):
                print(f"  {label:<11} HTTP {answer.status} {json.dumps(answer.body)}")
                ok = ok and answer.status == 200
            _log("\n== 5/5 what clients get wrong")
            no_key = ApiClient(outputs["invoke_url"], None).predict(first_row)
            print(f"  no API key   HTTP {no_key.status} {json.dumps(no_key.body)}")
            malformed = client.post_raw(b'{"data": "1,2,three"}')
            print(f"  malformed    HTTP {malformed.status} {json.dumps(malformed.body)}")
            ok = ok and no_key.status == 403 and malformed.status == 400
            _log(f"\ndemo finished in {time.perf_counter() - started:.1f} s")
            return 0 if ok else 1
        finally:
            if not args.keep and not was_running:
                stop_background()
                _log("embedded stack stopped (use `sagestack demo --keep` or `make up` to keep it running)")

    return _run(body)
