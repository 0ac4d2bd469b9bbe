"""`sagestack` command line: a thin dispatcher to the module that owns each command.

Commands are imported lazily so that `sagestack train` does not pay for boto3 or FastAPI
and a broken optional piece cannot take the whole CLI down.
"""

from __future__ import annotations

import importlib
import sys

# command -> ("module:function", one-line help). Each function takes argv and returns an exit code.
COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("training.cli:main", "prepare data, train the Linear-Learner-compatible model, write the report"),
    "emulator": ("emulator.sagemaker.server:main", "run the SageMaker emulator (default 127.0.0.1:4567)"),
    "localstack": ("emulator.localstack.launcher:main", "run LocalStack on the host with the local Lambda executor"),
    "up": ("deploy.commands:up", "start LocalStack and the SageMaker emulator on the host, then deploy"),
    "down": ("deploy.commands:down", "stop the host services started by `up`"),
    "deploy": ("deploy.commands:deploy", "create or update the whole stack for a profile (idempotent)"),
    "destroy": ("deploy.commands:destroy", "remove everything deploy created, endpoint first"),
    "status": ("deploy.commands:status", "show each resource and whether it exists and matches"),
    "predict": ("deploy.commands:predict", "send rows to the deployed REST API and print the labels"),
    "demo": ("deploy.commands:demo", "train, start, deploy and run the test split through the REST API"),
}


def _usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = ["usage: sagestack <command> [options]", "", "commands:"]
    lines += [f"  {name.ljust(width)}  {help_text}" for name, (_, help_text) in COMMANDS.items()]
    lines += ["", "Run `sagestack <command> --help` for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(_usage())
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"sagestack: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    target, _ = COMMANDS[name]
    module_name, func_name = target.split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    return int(func(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
