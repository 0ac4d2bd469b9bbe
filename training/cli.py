"""`sagestack train`: prepare the data, train the model, write metrics.json, plots and a short report.

Exit codes: 0 success, 2 for anything the user can fix (bad arguments, a malformed data file,
invalid hyperparameters) with a one-line message saying what to change.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from training.data import DEFAULT_SEED, DataFormatError
from training.hyperparameters import DEFAULT_HYPERPARAMETERS
from training.job import TrainingJobError
from training.report import Progress, format_summary, train_and_report


def _hyperparameter(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE (e.g. epochs=20), got {text!r}")
    return name.strip(), value.strip()


def _parser() -> argparse.ArgumentParser:
    from contract import names

    defaults = ", ".join(f"{k}={v}" for k, v in DEFAULT_HYPERPARAMETERS.items())
    parser = argparse.ArgumentParser(
        prog="sagestack train",
        description="Train the Linear-Learner-compatible breast-cancer classifier locally and write a report.",
        epilog=f"Kit defaults (SageMaker defaults otherwise): {defaults}.",
    )
    parser.add_argument("--data", type=Path, metavar="PATH", help="a UCI wdbc.data file or a CSV with the notebook's header "
                        "(default: materialise scikit-learn's copy of the data)")
    parser.add_argument("--out", type=Path, metavar="DIR", default=names.state_dir() / "training",
                        help="output directory (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed for the split, training and CV (default: %(default)s)")
    parser.add_argument("--hyperparameter", "-H", type=_hyperparameter, action="append", default=[], metavar="NAME=VALUE",
                        help="a Linear Learner hyperparameter by its SageMaker name (repeatable)")
    parser.add_argument("--folds", type=int, default=10, help="cross-validation folds, 0 to skip (default: %(default)s)")
    parser.add_argument("--no-plots", action="store_true", help="do not write PNG plots")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress display, no summary")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.folds < 0 or args.folds == 1:
        parser.error("--folds must be 0 (skip) or at least 2")
    if args.data is not None and not args.data.is_file():
        print(f"sagestack train: error: --data {args.data} is not a file", file=sys.stderr)
        return 2
    hyperparameters = dict(args.hyperparameter)
    progress = Progress(stream=None if args.quiet else sys.stderr)
    try:
        document = train_and_report(
            args.out,
            source=args.data,
            seed=args.seed,
            hyperparameters=hyperparameters,
            folds=args.folds,
            plots=not args.no_plots,
            progress=progress,
        )
    except DataFormatError as exc:
        print(f"\nsagestack train: error: malformed data: {exc}", file=sys.stderr)
        return 2
    except TrainingJobError as exc:
        print(f"\nsagestack train: error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # e.g. too few rows for the split or the folds
        print(f"\nsagestack train: error: {exc}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(format_summary(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
