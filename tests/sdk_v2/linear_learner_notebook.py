"""The SageMaker Python SDK v2's Linear Learner workflow, as AWS's example notebooks write it.

Run by the SDK v2 venv's interpreter (tests/sagemaker/test_sdk_v2.py builds it) against whatever the
standard AWS variables point at: AWS_ENDPOINT_URL_SAGEMAKER(_RUNTIME) and AWS_ENDPOINT_URL_S3 for the
embedded stack. Two things no endpoint variable can redirect are given explicitly, as they must be
off AWS: the execution role ARN (get_execution_role() asks STS/IAM at a fixed public URL) and the
default bucket (Session.default_bucket() would ask STS for the account at a fixed public URL).

usage: linear_learner_notebook.py TRAIN.csv ROLE_ARN BUCKET RESULTS.json
"""

from __future__ import annotations

import json
import sys

import numpy as np
import sagemaker
from sagemaker import LinearLearner
from sagemaker.deserializers import JSONDeserializer
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.serializers import CSVSerializer

POLL = 1  # seconds between Describe* calls (the SDK's own wait helpers; its defaults are 5 s and 30 s)


def main(train_csv: str, role: str, bucket: str) -> dict:
    session = sagemaker.Session(default_bucket=bucket)
    data = np.loadtxt(train_csv, delimiter=",", dtype="float32")
    labels, features = data[:, 0], data[:, 1:]
    rows = features[:8]
    results: dict = {"rows": rows.tolist(), "sdk_version": sagemaker.__version__}

    # 1. The built-in estimator: record_set uploads RecordIO-protobuf shards plus a ManifestFile.
    linear = LinearLearner(
        role=role, instance_count=1, instance_type="ml.m5.large", predictor_type="binary_classifier",
        sagemaker_session=session, epochs=5,
    )
    records = linear.record_set(features, labels=labels, channel="train")
    results["record_set"] = {"s3_data": records.s3_data, "s3_data_type": records.s3_data_type}
    linear.fit(records, mini_batch_size=100, wait=False)
    job = linear.latest_training_job.name
    session.wait_for_job(job, poll=POLL)
    results["ll_model_data"] = linear.model_data
    predictor = linear.deploy(initial_instance_count=1, instance_type="ml.m5.large", wait=False)
    session.wait_for_endpoint(predictor.endpoint_name, poll=POLL)
    answers = predictor.predict(rows)  # RecordIO-protobuf request, RecordIO-protobuf response
    results["ll_scores"] = [a.label["score"].float32_tensor.values[0] for a in answers]
    results["ll_labels"] = [a.label["predicted_label"].float32_tensor.values[0] for a in answers]
    predictor.delete_endpoint()
    results["ll_endpoint"] = predictor.endpoint_name

    # 2. The generic Estimator with the image URI and CSV channels.
    image = sagemaker.image_uris.retrieve("linear-learner", session.boto_region_name)
    estimator = Estimator(
        image_uri=image, role=role, instance_count=1, instance_type="ml.m5.large", sagemaker_session=session,
        output_path=f"s3://{bucket}/linear-learner-csv/output",
    )
    estimator.set_hyperparameters(feature_dim=features.shape[1], predictor_type="binary_classifier", mini_batch_size=100)
    train_uri = session.upload_data(train_csv, bucket=bucket, key_prefix="linear-learner-csv/train")
    estimator.fit({"train": TrainingInput(train_uri, content_type="text/csv")}, wait=False)
    session.wait_for_job(estimator.latest_training_job.name, poll=POLL)
    results["csv_model_data"] = estimator.model_data
    csv_predictor = estimator.deploy(
        initial_instance_count=1, instance_type="ml.m5.large", serializer=CSVSerializer(),
        deserializer=JSONDeserializer(), wait=False,
    )
    session.wait_for_endpoint(csv_predictor.endpoint_name, poll=POLL)
    results["csv_predictions"] = csv_predictor.predict(rows)["predictions"]
    csv_predictor.delete_endpoint()
    results["csv_endpoint"] = csv_predictor.endpoint_name
    return results


if __name__ == "__main__":
    with open(sys.argv[4], "w") as out:  # a file: the SDK logs to stdout
        json.dump(main(*sys.argv[1:4]), out)
