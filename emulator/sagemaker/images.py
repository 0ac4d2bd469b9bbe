"""Which container images the emulator can stand in for: SageMaker's built-in Linear Learner.

AWS publishes the algorithm as `<account>.dkr.ecr.<region>.amazonaws.com/linear-learner:1`
(a different registry account per region, other domains in China and the isolated
partitions); the emulator accepts that repository in any region, with any tag or digest.
"""

from __future__ import annotations

import hashlib
import re

LINEAR_LEARNER_REPOSITORY = "linear-learner"

# The registry domain varies by partition (amazonaws.com, amazonaws.com.cn, c2s.ic.gov, ...).
_LINEAR_LEARNER_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.(?:[a-z0-9-]+\.)*[a-z]{2,}"
    r"/linear-learner(?::[A-Za-z0-9_.-]{1,128}|@sha256:[0-9a-f]{64})?$"
)

SUPPORTED_IMAGES_HINT = (
    "the SageMaker emulator only runs the built-in Linear Learner algorithm: use the image "
    "'<account>.dkr.ecr.<region>.amazonaws.com/linear-learner:1' (for example "
    "sagemaker.core.image_uris.retrieve('linear-learner', region))"
)


def is_linear_learner_image(image: str | None) -> bool:
    return bool(image) and _LINEAR_LEARNER_IMAGE.match(image.strip()) is not None


def unsupported_image_reason(image: str | None) -> str:
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
