"""AWS partition facts that ARNs, image URIs and service hosts all derive from a region.

One home so the emulator's ARNs, deploy's ARNs and invoke URLs, and the image tables can
never disagree about China or GovCloud.
"""

from __future__ import annotations


def partition(region: str) -> str:
    """The ARN partition of `region` (arn:aws-cn:... in China, arn:aws-us-gov:... in GovCloud)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def dns_suffix(region: str) -> str:
    """The service host suffix of `region` (`amazonaws.com.cn` in China, else `amazonaws.com`)."""
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
