"""LocalStack's corrections to botocore's specs are applied to the loaded spec, not to a copy of it.

LocalStack's spec loader (`localstack.aws.spec.PatchingLoader.load_data`) applies its JSON patches
(`localstack/aws/spec-patches.json`: 104 operations on S3's model, 2 on API Gateway's, 4 on API
Gateway v2's) with `jsonpatch.apply_patch`, which deep-copies the model first; botocore's loader has
already cached the unpatched model it parsed (`load_data_with_path`), so both stay in memory for as
long as LocalStack runs: 1.5 MB for S3 and about 0.7 MB for API Gateway (tracemalloc, 2026.3.0).

Here the same patches are applied in place (`in_place=True`): the one cached model is the patched
one, and `load_data` returns it as before. Nothing else reads the unpatched model.
"""

from __future__ import annotations

CHECKED_AGAINST = "2026.3.0"
# applied right after this module is first imported (patches/__init__.py): at boot, before any spec loads
APPLY_ON_IMPORT = "localstack.aws.spec"
TARGETS = ("localstack.aws.spec.PatchingLoader.load_data",)


def apply() -> None:
    import importlib

    from botocore.loaders import instance_cache

    spec = importlib.import_module(APPLY_ON_IMPORT)
    PatchingLoader = spec.PatchingLoader

    @instance_cache
    def load_data(self, name: str):
        """LocalStack's load_data with its patches applied to the parsed model itself."""
        result = super(PatchingLoader, self).load_data(name)
        if patches := self.patches.get(name):
            return spec.jsonpatch.apply_patch(result, patches, in_place=True)
        return result

    PatchingLoader.load_data = load_data
