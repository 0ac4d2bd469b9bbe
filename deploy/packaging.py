"""The Lambda deployment package: a byte-for-byte reproducible zip of `lambda/`.

Fixed timestamps and permissions make the zip's SHA-256 depend on the source alone, so
`deploy` compares it with the function's `CodeSha256` and uploads only when the code changed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from contract.names import PROJECT_ROOT

LAMBDA_DIR = PROJECT_ROOT / "lambda"
HANDLER = "handler.lambda_handler"
_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class LambdaPackage:
    zip_bytes: bytes

    @property
    def code_sha256(self) -> str:
        """Base64 SHA-256, the form Lambda reports as `CodeSha256`."""
        return base64.b64encode(hashlib.sha256(self.zip_bytes).digest()).decode()


def build_package(source_dir: Path = LAMBDA_DIR) -> LambdaPackage:
    files = sorted(p for p in source_dir.rglob("*.py") if "__pycache__" not in p.parts)
    if not any(p.name == "handler.py" for p in files):
        raise FileNotFoundError(f"{source_dir}/handler.py is missing; the Lambda package needs it")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(source_dir).as_posix(), date_time=_EPOCH)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return LambdaPackage(buffer.getvalue())
