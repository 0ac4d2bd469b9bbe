"""The built-in algorithm images for a region: Linear Learner (`linear-learner:1`) and XGBoost (`sagemaker-xgboost:<version>`).

Prefers the sagemaker SDK's own table (sagemaker-core, the optional `sdk` extra, the data
behind `sagemaker.core.image_uris.retrieve`) so new regions arrive with an SDK upgrade.
Without the SDK, a built-in copy of AWS's "Docker Registry Paths and Example Code" table for
linear-learner:1 answers. Importing the SDK costs over a second, a tenth of the kit's
up-to-first-prediction budget, so the table is read without importing it where possible.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path

from contract import aws

ALGORITHM = "linear-learner"
IMAGE_TAG = "1"

# ECR registry account of the built-in linear-learner image, per region (AWS documentation,
# "Docker Registry Paths and Example Code"; identical to sagemaker-core 2.27's image_uri_config).
REGISTRY_ACCOUNTS: dict[str, str] = {
    "af-south-1": "455444449433",
    "ap-east-1": "286214385809",
    "ap-northeast-1": "351501993468",
    "ap-northeast-2": "835164637446",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "991648021394",
    "ap-south-2": "628508329040",
    "ap-southeast-1": "475088953585",
    "ap-southeast-2": "712309505854",
    "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589",
    "ca-central-1": "469771592824",
    "ca-west-1": "190319476487",
    "cn-north-1": "390948362332",
    "cn-northwest-1": "387376663083",
    "eu-central-1": "664544806723",
    "eu-central-2": "680994064768",
    "eu-north-1": "669576153137",
    "eu-south-1": "257386234256",
    "eu-south-2": "104374241257",
    "eu-west-1": "438346466558",
    "eu-west-2": "644912444149",
    "eu-west-3": "749696950732",
    "il-central-1": "898809789911",
    "me-central-1": "272398656194",
    "me-south-1": "249704162688",
    "sa-east-1": "855470959533",
    "us-east-1": "382416733822",
    "us-east-2": "404615174143",
    "us-gov-east-1": "237065988967",
    "us-gov-west-1": "226302683700",
    "us-west-1": "632365934929",
    "us-west-2": "174872318107",
}


# ECR registry account of the sagemaker-xgboost image (the same for 1.7-1, 3.0-5 and 3.2-0), per region
# (sagemaker-core 2.27's image_uri_config/xgboost.json; ISO partitions go through the SDK).
XGBOOST_REPOSITORY = "sagemaker-xgboost"
XGBOOST_VERSION = "1.7-1"  # what `sagestack deploy --algorithm xgboost` asks for: the SDK's long-standing default
XGBOOST_REGISTRY_ACCOUNTS: dict[str, str] = {
    "af-south-1": "510948584623",
    "ap-east-1": "651117190479",
    "ap-northeast-1": "354813040037",
    "ap-northeast-2": "366743142698",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "720646828776",
    "ap-south-2": "628508329040",
    "ap-southeast-1": "121021644041",
    "ap-southeast-2": "783357654285",
    "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589",
    "ca-central-1": "341280168497",
    "ca-west-1": "190319476487",
    "cn-north-1": "450853457545",
    "cn-northwest-1": "451049120500",
    "eu-central-1": "492215442770",
    "eu-central-2": "680994064768",
    "eu-north-1": "662702820516",
    "eu-south-1": "978288397137",
    "eu-south-2": "104374241257",
    "eu-west-1": "141502667606",
    "eu-west-2": "764974769150",
    "eu-west-3": "659782779980",
    "il-central-1": "898809789911",
    "me-central-1": "272398656194",
    "me-south-1": "801668240914",
    "sa-east-1": "737474898029",
    "us-east-1": "683313688378",
    "us-east-2": "257758044811",
    "us-gov-east-1": "237065988967",
    "us-gov-west-1": "414596584902",
    "us-west-1": "746614075791",
    "us-west-2": "246618743249",
}


class UnsupportedRegion(ValueError):
    """No linear-learner image is known for the region."""


def builtin_image_uri(region: str) -> str:
    """The image URI from the built-in table."""
    account = REGISTRY_ACCOUNTS.get(region)
    if account is None:
        raise UnsupportedRegion(
            f"no linear-learner image is known for region {region!r}; known regions: {', '.join(sorted(REGISTRY_ACCOUNTS))}. "
            "Install the sdk extra (pip install 'sagestack[sdk]') for the SDK's up-to-date table."
        )
    suffix = aws.dns_suffix(region)
    return f"{account}.dkr.ecr.{region}.{suffix}/{ALGORITHM}:{IMAGE_TAG}"


def _sdk_registry_accounts(framework: str = ALGORITHM, version: str = IMAGE_TAG) -> dict[str, str] | None:
    """The installed SDK's own linear-learner registry table, read without importing the SDK.

    `import sagemaker` takes over a second; the table is a JSON file in sagemaker-core
    (`sagemaker/core/image_uri_config/linear-learner.json`), found through the import system
    without executing the package. None when the SDK or the file is absent.
    """
    try:
        spec = importlib.util.find_spec("sagemaker")
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        path = Path(location) / "core" / "image_uri_config" / f"{framework}.json"
        try:
            config = json.loads(path.read_text())
            versions = config["versions"] if "versions" in config else config["training"]["versions"]
            registries = versions[version]["registries"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        return {str(k): str(v) for k, v in registries.items()}
    return None


@functools.lru_cache(maxsize=None)
def linear_learner_image_uri(region: str) -> str:
    """The linear-learner:1 image URI for `region`: the sagemaker SDK's table when installed, else the built-in one.

    Commercial, China and GovCloud regions are answered from the SDK's table file directly;
    other partitions (ISO regions, other DNS suffixes) go through `image_uris.retrieve`.
    """
    accounts = _sdk_registry_accounts()
    if accounts is None:
        return builtin_image_uri(region)
    if region in accounts and not region.startswith("us-iso"):
        suffix = aws.dns_suffix(region)
        return f"{accounts[region]}.dkr.ecr.{region}.{suffix}/{ALGORITHM}:{IMAGE_TAG}"
    try:
        from sagemaker.core import image_uris  # optional `sdk` extra; slow import, rare path
    except ImportError:
        return builtin_image_uri(region)
    try:
        return str(image_uris.retrieve(ALGORITHM, region, version=IMAGE_TAG))
    except ValueError:
        return builtin_image_uri(region)  # the built-in table may know a region the installed SDK does not


@functools.lru_cache(maxsize=None)
def xgboost_image_uri(region: str, version: str = XGBOOST_VERSION) -> str:
    """The sagemaker-xgboost:<version> image URI for `region`, from the SDK's table when installed, else the built-in one."""
    accounts = _sdk_registry_accounts("xgboost", version) or XGBOOST_REGISTRY_ACCOUNTS
    if region in accounts and not region.startswith("us-iso"):
        suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
        return f"{accounts[region]}.dkr.ecr.{region}.{suffix}/{XGBOOST_REPOSITORY}:{version}"
    try:
        from sagemaker.core import image_uris  # optional `sdk` extra; ISO partitions and new regions
    except ImportError:
        raise UnsupportedRegion(
            f"no sagemaker-xgboost image is known for region {region!r}; known regions: "
            f"{', '.join(sorted(XGBOOST_REGISTRY_ACCOUNTS))}. Install the sdk extra (pip install 'sagestack[sdk]')."
        ) from None
    try:
        return str(image_uris.retrieve("xgboost", region, version=version))
    except ValueError as exc:
        raise UnsupportedRegion(f"no sagemaker-xgboost {version} image is known for region {region!r}: {exc}") from None


def image_uri(algorithm: str, region: str) -> str:
    """The training and serving image of `algorithm` ('linear-learner' or 'xgboost') in `region`."""
    if algorithm == "xgboost":
        return xgboost_image_uri(region)
    return linear_learner_image_uri(region)
