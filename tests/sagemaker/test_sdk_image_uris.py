"""The SageMaker SDK's own image table (sagemaker-core's `image_uris`) as the oracle for AWS's image URIs:
every region's Linear Learner and XGBoost image is recognised by the emulator, and the deploy's table
gives the SDK's URI. One module on purpose: importing sagemaker-core costs seconds of CPU, paid once by
the one test worker that runs these."""

from __future__ import annotations

from deploy.images import REGISTRY_ACCOUNTS, _sdk_registry_accounts, builtin_image_uri, linear_learner_image_uri
from emulator.sagemaker.images import XGBOOST, algorithm_for_image, is_linear_learner_image


def test_every_linear_learner_image_the_sdk_knows_is_recognised(sdk_image_uris):
    config = sdk_image_uris.config_for_framework("linear-learner")
    regions = sorted({region for version in config["versions"].values() for region in version["registries"]})
    assert len(regions) > 20
    for region in regions:
        assert is_linear_learner_image(sdk_image_uris.retrieve("linear-learner", region)), region
    for other in ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                  "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner-evil:1", "linear-learner", "", None):
        assert not is_linear_learner_image(other)


def test_any_region_and_partition_xgboost_image_is_recognised(sdk_image_uris):
    config = sdk_image_uris.config_for_framework("xgboost")
    versions = config.get("versions") or config["training"]["versions"]
    for version in ("1.7-1", "3.0-5", "3.2-0"):
        for region in sorted(versions[version]["registries"]):
            algorithm = algorithm_for_image(sdk_image_uris.retrieve("xgboost", region, version=version))
            assert algorithm is not None and algorithm.name == XGBOOST and algorithm.version == version, region


def test_the_deploys_image_uri_table_agrees_with_the_sdk_for_every_region(sdk_image_uris):
    """The fast path (SDK table read without import) and the built-in table equal the SDK's retrieve()."""
    sdk_accounts = _sdk_registry_accounts()
    assert sdk_accounts, "sagemaker-core is installed but its table was not found"
    for region in sorted(set(sdk_accounts) | set(REGISTRY_ACCOUNTS)):
        expected = sdk_image_uris.retrieve("linear-learner", region, version="1")
        assert linear_learner_image_uri(region) == expected, region
        if region in REGISTRY_ACCOUNTS:
            assert builtin_image_uri(region) == expected, region
