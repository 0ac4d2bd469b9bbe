"""LocalStack's two moto patches are applied when moto is first imported, not by importing moto at start.

The on_infra_start hook `localstack.aws.patches.apply_aws_runtime_patches` imports moto's core to
patch it (the model metaclass stops tracking instances; IAM loads AWS managed policies): about a
tenth of a second of CPU before the gateway answers, for a library no request needs until a
moto-backed service loads. Here the hook's two steps each run right after the moto module they
patch has first executed (`patches.when_imported`), before any other module continues: the
metaclass patch after `moto.core.common_models` (whose own classes were created before the patch
either way, as when the hook imports it), the config patch after `moto.core.config`, before any
backend reads it. The patched behaviour is LocalStack's own, unchanged.
"""

from __future__ import annotations

CHECKED_AGAINST = "2026.3.0"
# applied right after this module is first imported (patches/__init__.py): not at start-up
APPLY_ON_IMPORT = "localstack.aws.patches"
TARGETS = (
    "localstack.aws.patches.patch_moto_instance_tracker_meta",
    "localstack.aws.patches.patch_moto_iam_config",
)


def apply() -> None:
    import importlib

    from sagestack_localstack.patches import when_imported

    aws_patches = importlib.import_module(APPLY_ON_IMPORT)
    tracker_meta = aws_patches.patch_moto_instance_tracker_meta
    iam_config = aws_patches.patch_moto_iam_config
    # module globals the hook calls by name at run time
    aws_patches.patch_moto_instance_tracker_meta = lambda: when_imported("moto.core.common_models", tracker_meta)
    aws_patches.patch_moto_iam_config = lambda: when_imported("moto.core.config", iam_config)
