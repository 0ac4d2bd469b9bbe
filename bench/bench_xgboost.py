"""XGBoost benchmark, side by side in one run: the kit's SageMaker XGBoost against the xgboost library.

1. Training time and stratified 10-fold CV quality on wdbc: `training.xgboost.job.run_xgboost_job`
   (what CreateTrainingJob runs: CSV channels written and read back, the container's
   hyperparameter validation, the artifact written) against `xgboost.train` called directly with
   the same parameters on the same folds. They must agree: the largest difference between the
   two models' held-out probabilities is printed and must be 0 up to float32 rounding.
2. InvokeEndpoint throughput of the SageMaker emulator (single-row text/csv, Accept
   application/json, the Lambda's request) for an XGBoost model and for the Linear Learner
   model, same server, same load generator, interleaved rounds.

`python -m bench xgboost`. The machine is shared and noisy: read the ratios.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

FOLDS = 10
SEED = 0
# The kit's deploy defaults without early stopping: every fold boosts the same number of rounds,
# so the kit and the library do exactly the same work.
PARAMS = {"num_round": "100", "objective": "binary:logistic", "max_depth": "3", "eta": "0.1", "subsample": "0.9",
          "eval_metric": "auc,logloss", "seed": "0"}


def _library_params() -> tuple[dict, int]:
    params = {k: v for k, v in PARAMS.items() if k != "num_round"}
    typed = {"max_depth": int(params["max_depth"]), "eta": float(params["eta"]), "subsample": float(params["subsample"]),
             "seed": int(params["seed"]), "objective": params["objective"], "eval_metric": params["eval_metric"].split(","),
             "nthread": 1}
    return typed, int(PARAMS["num_round"])


def _write_channel(path: Path, X: np.ndarray, y: np.ndarray) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    np.savetxt(path / "part.csv", np.column_stack([y, X]), delimiter=",", fmt="%.17g")
    return path


def cross_validate(workdir: Path) -> None:
    import xgboost as xgb
    from sklearn.datasets import load_breast_cancer
    from sklearn.metrics import accuracy_score, recall_score, roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    from training.xgboost.job import ChannelInput, run_xgboost_job

    X, y = load_breast_cancer(return_X_y=True)
    y = (1 - y).astype(float)  # 1 = malignant
    params, rounds = _library_params()
    figures = {"kit": {"accuracy": [], "recall": [], "roc_auc": [], "seconds": []},
               "library": {"accuracy": [], "recall": [], "roc_auc": [], "seconds": []}}
    largest_gap = 0.0
    for fold, (train, test) in enumerate(StratifiedKFold(FOLDS, shuffle=True, random_state=SEED).split(X, y)):
        channel = _write_channel(workdir / f"fold{fold}" / "train", X[train], y[train])
        started = time.perf_counter()
        result = run_xgboost_job({"train": ChannelInput(channel, "text/csv")}, PARAMS, workdir / f"fold{fold}" / "out")
        kit_seconds = time.perf_counter() - started
        started = time.perf_counter()
        booster = xgb.train(params, xgb.DMatrix(X[train], label=y[train]), num_boost_round=rounds)
        library_seconds = time.perf_counter() - started
        held_out = xgb.DMatrix(X[test])
        for name, model, seconds in (("kit", result.booster, kit_seconds), ("library", booster, library_seconds)):
            score = model.predict(held_out)
            figures[name]["accuracy"].append(accuracy_score(y[test], score > 0.5))
            figures[name]["recall"].append(recall_score(y[test], score > 0.5))
            figures[name]["roc_auc"].append(roc_auc_score(y[test], score))
            figures[name]["seconds"].append(seconds)
        largest_gap = max(largest_gap, float(np.max(np.abs(result.booster.predict(held_out) - booster.predict(held_out)))))
    print(f"\nwdbc, stratified {FOLDS}-fold CV, {PARAMS}")
    print(f"{'':<10}{'train s (median)':>18}{'accuracy':>10}{'recall':>8}{'ROC AUC':>9}")
    for name, values in figures.items():
        print(f"{name:<10}{statistics.median(values['seconds']):>18.3f}{np.mean(values['accuracy']):>10.4f}"
              f"{np.mean(values['recall']):>8.4f}{np.mean(values['roc_auc']):>9.4f}")
    ratio = statistics.median(figures["kit"]["seconds"]) / statistics.median(figures["library"]["seconds"])
    print(f"kit/library training time: {ratio:.2f}x (the kit also writes/reads CSV, validates, saves model.tar.gz)")
    print(f"largest |kit - library| held-out probability over all folds: {largest_gap:.2e} (must be ~0: same model)")
    if largest_gap > 1e-6:
        raise RuntimeError(f"the kit's XGBoost and the xgboost library disagree by {largest_gap}")


def _deploy(sm, s3, name: str, image: str, artifact: Path) -> None:
    s3.upload_file(str(artifact), "bench-artifacts", f"{name}/model.tar.gz")
    sm.create_model(ModelName=name, ExecutionRoleArn="arn:aws:iam::000000000000:role/bench",
                    PrimaryContainer={"Image": image, "ModelDataUrl": f"s3://bench-artifacts/{name}/model.tar.gz"})
    sm.create_endpoint_config(EndpointConfigName=f"{name}-config", ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})


def throughput(workdir: Path) -> None:
    import subprocess
    import sys

    import boto3

    from bench.bench_sagemaker import DURATION, ROUNDS, ROW, _wait_port, build_request, load
    from contract.net import free_port
    from emulator.sagemaker.process import EmulatorProcess
    from training.data import prepare_channels
    from training.job import run_training_job
    from training.xgboost.hyperparameters import DEFAULT_HYPERPARAMETERS
    from training.xgboost.job import ChannelInput, run_xgboost_job

    channels = prepare_channels(workdir / "channels")
    linear = run_training_job(channels, {"feature_dim": "30", "predictor_type": "binary_classifier"}, workdir / "ll")
    xgb_channels = {c: ChannelInput(Path(channels[c]).parent if Path(channels[c]).is_file() else Path(channels[c]), "text/csv")
                    for c in ("train", "validation")}
    boosted = run_xgboost_job(xgb_channels, DEFAULT_HYPERPARAMETERS, workdir / "xgb", version="1.7-1")
    moto_port, emulator_port = free_port(), free_port()
    moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(moto_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    emulator = None
    try:
        _wait_port(moto_port, 180.0)  # patient: the bench may share a loaded machine
        emulator = EmulatorProcess(emulator_port, workdir / "emulator", f"http://127.0.0.1:{moto_port}")
        emulator.start(timeout=180.0)
        credentials = dict(region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{moto_port}", **credentials)
        s3.create_bucket(Bucket="bench-artifacts")
        sm = boto3.client("sagemaker", endpoint_url=emulator.url, **credentials)
        _deploy(sm, s3, "bench-linear", "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1", Path(linear.model_path))
        _deploy(sm, s3, "bench-xgboost", "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                Path(boosted.model_path))
        requests = {name: build_request(emulator_port, f"/endpoints/{name}/invocations", ROW.encode())
                    for name in ("bench-linear", "bench-xgboost")}
        for name, request in requests.items():
            warm = load(emulator_port, request, 4, 0.5)
            if warm.requests == 0 or warm.errors:
                raise RuntimeError(f"{name} answered {warm.errors} errors out of {warm.requests} warm-up requests")
        best: dict[str, object] = {}
        for _ in range(ROUNDS):
            for name, request in requests.items():
                result = load(emulator_port, request, 16, DURATION)
                if name not in best or result.rps > best[name].rps:  # type: ignore[attr-defined]
                    best[name] = result
    finally:
        if emulator is not None:
            emulator.stop()
        moto.terminate()
        moto.wait(10)
    print(f"\nInvokeEndpoint on the emulator, single-row text/csv -> application/json, 16 connections, "
          f"best of {ROUNDS} interleaved {DURATION:g}-second rounds")
    print(f"{'model':<16}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for name, result in best.items():
        print(f"{name:<16}{result.rps:>10.0f}{result.percentile(50):>9.2f}{result.percentile(99):>9.2f}{result.errors:>8}")  # type: ignore[attr-defined]
    print(f"XGBoost/Linear Learner throughput: {best['bench-xgboost'].rps / best['bench-linear'].rps:.2f}x")  # type: ignore[attr-defined]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-xgboost-") as tmp:
        cross_validate(Path(tmp) / "cv")
        throughput(Path(tmp) / "serve")


if __name__ == "__main__":
    main()
