"""The patches package: every change to LocalStack's internals in one place, each written the same way.

Unit level (no LocalStack needed): the patch modules import LocalStack only inside apply().
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from emulator.localstack import runtime_venv
from emulator.localstack.plugin.sagestack_localstack import patches

PACKAGE = Path(patches.__file__).parent
PLUGIN = PACKAGE.parent
ALL = [name for stage in patches.STAGES.values() for name in stage]


def _patch(name: str):
    return importlib.import_module(f"{patches.__name__}.{name}")


def test_every_module_in_the_package_is_applied_in_exactly_one_stage():
    on_disk = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert sorted(on_disk) == sorted(ALL)
    assert len(ALL) == len(set(ALL))


@pytest.mark.parametrize("name", ALL)
def test_each_patch_says_why_what_and_against_which_localstack(name):
    module = _patch(name)
    assert module.__doc__ and len(module.__doc__.strip().splitlines()) >= 3, "the docstring says why"
    assert module.CHECKED_AGAINST == runtime_venv.LOCALSTACK_VERSION
    assert module.TARGETS and all(isinstance(t, str) and t for t in module.TARGETS)
    assert callable(module.apply)


@pytest.mark.parametrize("name", ALL)
def test_patch_modules_import_localstack_only_inside_apply(name):
    tree = ast.parse((PACKAGE / f"{name}.py").read_text())
    for node in tree.body:  # module level
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            assert not any(m.split(".")[0] in ("localstack", "twisted", "werkzeug") for m in modules), ast.dump(node)


def _assigns_foreign_attribute(tree: ast.AST) -> list[str]:
    """`X.attr = ...` where X is an imported module/class (how a monkeypatch looks), outside patches/."""
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("localstack", "twisted", "werkzeug"):
            imported |= {a.asname or a.name for a in node.names}
        if isinstance(node, ast.Import):
            imported |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name.startswith(("localstack", "twisted"))}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id in imported:
                    found.append(f"{target.value.id}.{target.attr}")
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "patch":
            found.append("localstack.utils.patch.patch(...)")
    return found


def test_no_module_outside_the_patches_package_patches_localstack():
    offenders = {}
    for path in PLUGIN.glob("*.py"):
        found = _assigns_foreign_attribute(ast.parse(path.read_text()))
        if found:
            offenders[path.name] = found
    assert offenders == {}


def test_the_executor_module_holds_only_the_executor():
    tree = ast.parse((PLUGIN / "executor.py").read_text())
    classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
    functions = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert classes == ["LocalRuntimeExecutor"]
    assert not [f for f in functions if f.startswith("install")], functions


def test_apply_all_applies_each_patch_once(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(patches, "_applied", set())
    for name in patches.BOOT:
        monkeypatch.setattr(_patch(name), "apply", lambda name=name: calls.append(name))
    assert patches.apply_all("boot") == list(patches.BOOT)
    assert patches.apply_all("boot") == []
    assert calls == list(patches.BOOT)


@pytest.mark.parametrize(
    "method, path, headers, query, expected",
    [
        ("POST", "/", {"Authorization": "AWS4-HMAC-SHA256 Credential=test/20261202/us-east-1/sagemaker/aws4_request, "
                                         "SignedHeaders=host, Signature=x", "X-Amz-Target": "SageMaker.ListEndpoints"},
         {}, True),
        ("POST", "/endpoints/e/invocations", {"Authorization": "AWS4-HMAC-SHA256 Credential=test/20261202/eu-west-1/"
                                                                "sagemaker/aws4_request, SignedHeaders=host, Signature=x"},
         {}, True),
        # another service's signature decides, whatever the path looks like
        ("POST", "/endpoints/e/invocations", {"Authorization": "AWS4-HMAC-SHA256 Credential=test/20261202/us-east-1/"
                                                                "s3/aws4_request, SignedHeaders=host, Signature=x"},
         {}, False),
        ("POST", "/", {"Authorization": "AWS4-HMAC-SHA256 Credential=test/20261202/us-east-1/lambda/aws4_request"}, {},
         False),
        ("GET", "/x", {}, {"X-Amz-Credential": "test/20261202/us-east-1/sagemaker/aws4_request"}, True),
        ("POST", "/", {"X-Amz-Target": "SageMaker.DescribeEndpoint"}, {}, True),
        ("POST", "/", {"X-Amz-Target": "Logs_20140328.PutLogEvents"}, {}, False),
        ("POST", "/endpoints/my-endpoint/invocations", {}, {}, True),
        ("GET", "/endpoints/my-endpoint/invocations", {}, {}, False),
        ("POST", "/_aws/execute-api/abc/prod/ml-model-api", {}, {}, False),
    ],
)
def test_sagemaker_requests_are_recognised_by_scope_target_or_path(method, path, headers, query, expected):
    from emulator.localstack.plugin.sagestack_localstack.patches.sagemaker_forwarding import is_sagemaker_request

    assert is_sagemaker_request(method, path, headers, query) is expected
