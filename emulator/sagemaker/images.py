"""Which container images the emulator can stand in for: SageMaker's built-in Linear Learner and XGBoost.

AWS publishes the algorithms as `<account>.dkr.ecr.<region>.amazonaws.com/linear-learner:1`
and `.../sagemaker-xgboost:<version>` (a different registry account per region, other domains
in China and the isolated partitions); the emulator accepts those repositories in any region,
with any account. XGBoost tags name the container version (`1.7-1`, `3.0-5`, `3.2-0`,
optionally `-cpu-py3`); the version decides the model format written (see
`training.xgboost.artifact`). Versions before 1.7 wrote pickled or old-binary models and are
refused with a reason naming the supported ones.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

LINEAR_LEARNER_REPOSITORY = "linear-learner"
XGBOOST_REPOSITORY = "sagemaker-xgboost"
LINEAR_LEARNER = "linear-learner"
XGBOOST = "xgboost"
# Container versions of the SDK's image table whose artifact format we write (1.7 family and 3.x).
XGBOOST_VERSIONS = ("1.7-1", "3.0-5", "3.2-0")
XGBOOST_DEFAULT_VERSION = "3.0-5"

# The registry domain varies by partition (amazonaws.com, amazonaws.com.cn, c2s.ic.gov, ...).
_REGISTRY = r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.(?:[a-z0-9-]+\.)*[a-z]{2,}/"
_REFERENCE = r"(?::(?P<tag>[A-Za-z0-9_.-]{1,128})|@sha256:[0-9a-f]{64})?$"
_LINEAR_LEARNER_IMAGE = re.compile(_REGISTRY + "linear-learner" + _REFERENCE)
_XGBOOST_IMAGE = re.compile(_REGISTRY + XGBOOST_REPOSITORY + _REFERENCE)
_XGBOOST_TAG = re.compile(r"^(?P<version>\d+\.\d+(?:-\d+)?)(?:-cpu-py3|-gpu-py3)?$")

SUPPORTED_IMAGES_HINT = (
    "the SageMaker emulator runs the built-in Linear Learner and XGBoost algorithms: use "
    "'<account>.dkr.ecr.<region>.amazonaws.com/linear-learner:1' or "
    f"'<account>.dkr.ecr.<region>.amazonaws.com/sagemaker-xgboost:<version>' with a version of {', '.join(XGBOOST_VERSIONS)} "
    "(for example sagemaker.core.image_uris.retrieve('xgboost', region, version='1.7-1'))"
)


@dataclass(frozen=True)
class Algorithm:
    """A built-in algorithm the emulator runs, with the container version the image names."""

    name: str
    version: str


def is_linear_learner_image(image: str | None) -> bool:
    return bool(image) and _LINEAR_LEARNER_IMAGE.match(image.strip()) is not None


def xgboost_version(image: str | None) -> str | None:
    """The container version of a sagemaker-xgboost image ('1.7-1', ...), None when not that repository.

    A digest reference carries no version: it is taken as the newest supported family.
    Raises ValueError for a sagemaker-xgboost tag outside the supported versions.
    """
    match = _XGBOOST_IMAGE.match(image.strip()) if image else None
    if match is None:
        return None
    tag = match.group("tag")
    if tag is None:
        return XGBOOST_DEFAULT_VERSION
    version = _XGBOOST_TAG.match(tag)
    family = version.group("version") if version else tag
    if family in XGBOOST_VERSIONS or (version and family.split(".")[0] == "3"):
        return family
    if family in ("1.7", "1.7-1"):
        return "1.7-1"
    raise ValueError(
        f"AlgorithmError: sagemaker-xgboost version {tag!r} is not supported by the SageMaker emulator: it runs "
        f"the versions {', '.join(XGBOOST_VERSIONS)} (versions before 1.7 wrote pickled or old-binary models); "
        "retrieve one with sagemaker.core.image_uris.retrieve('xgboost', region, version='1.7-1')"
    )


def algorithm_for_image(image: str | None) -> Algorithm | None:
    """The algorithm an image stands for, or None; ValueError (a FailureReason) for an unsupported XGBoost version."""
    if is_linear_learner_image(image):
        return Algorithm(LINEAR_LEARNER, "1")
    version = xgboost_version(image)
    return Algorithm(XGBOOST, version) if version else None


def is_supported_image(image: str | None) -> bool:
    try:
        return algorithm_for_image(image) is not None
    except ValueError:
        return False


def unsupported_image_reason(image: str | None) -> str:
    try:
        algorithm_for_image(image)
    except ValueError as exc:
        return str(exc)
    shown = image if image else "(none)"
    return f"AlgorithmError: image {shown!r} is not supported: {SUPPORTED_IMAGES_HINT}"


def resolved_image(image: str) -> str:
    """DescribeEndpoint's ResolvedImage: the repository pinned by digest (`repo@sha256:<64 hex>`), as AWS reports it.

    AWS resolves a tag to the registry's manifest digest at deployment; the emulator has no registry, so the
    digest is the SHA-256 of the specified image URI: stable for a given image, different for another tag.
    """
    if "@sha256:" in image:
        return image
    repository = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    return f"{repository}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"
