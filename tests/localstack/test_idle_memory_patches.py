"""The idle-memory patches: what LocalStack keeps after its services load is smaller, never different.

Unit level for the mechanisms (no LocalStack needed); then one script in LocalStack's own venv that
compares what the patched loaders hold with what LocalStack's stock loaders build from the same files.
"""

from __future__ import annotations

import json
import subprocess
from collections import namedtuple
from dataclasses import dataclass

from emulator.localstack.plugin.sagestack_localstack.patches import (
    service_catalog_shared_identifiers,
    service_specs_compact,
)
from emulator.localstack.plugin.sagestack_localstack.patches.s3_website_client_on_demand import lazy_client
from tests.localstack.helpers import read_concurrently


def test_specs_are_parsed_into_plain_dicts_in_file_order_without_documentation_text(tmp_path):
    model = {
        "metadata": {"protocol": "rest-xml"},
        "documentation": "<p>The service.</p>",
        "shapes": {
            "Zeta": {"type": "structure", "documentation": "<p>Last in the alphabet, first in the file.</p>",
                     "members": {"b": {"shape": "S", "documentation": "<p>b</p>"}, "a": {"shape": "S"},
                                 "documentation": {"shape": "S"}}},  # a member may be called so: kept
            "S": {"type": "string"},
        },
    }
    (tmp_path / "service-2.json").write_text(json.dumps(model))
    loaded = service_specs_compact.file_loader_class()().load_file(str(tmp_path / "service-2"))
    assert loaded == {
        "metadata": {"protocol": "rest-xml"},
        "shapes": {"Zeta": {"type": "structure", "members": {"b": {"shape": "S"}, "a": {"shape": "S"},
                                                              "documentation": {"shape": "S"}}},
                   "S": {"type": "string"}},
    }
    assert list(loaded["shapes"]) == ["Zeta", "S"] and list(loaded["shapes"]["Zeta"]["members"]) == ["b", "a", "documentation"]

    def kinds(value) -> set[type]:
        if isinstance(value, dict):
            return {type(value)}.union(*(kinds(v) for v in value.values()))
        return set()

    assert kinds(loaded) == {dict}  # not botocore's OrderedDicts
    assert service_specs_compact.file_loader_class()().load_file(str(tmp_path / "absent")) is None


Identifier = namedtuple("Identifier", "name protocol protocols")


@dataclass
class FakeIndex:  # LocalStack's ServiceCatalogIndex as the patch sees it
    service_names: list
    target_prefix_index: dict
    signing_name_index: dict
    operations_index: dict
    endpoint_prefix_index: dict


def test_catalog_identifiers_are_shared_per_value_and_lookups_answer_the_same():
    def ident(name: str, protocol: str) -> Identifier:  # a fresh object per mention, as loaded from the file
        return Identifier("".join(name), protocol, (protocol,))

    index = FakeIndex(
        service_names=["s3", "sqs"],
        target_prefix_index={"AmazonSQS": [ident("sqs", "json")]},
        signing_name_index={"s3": [ident("s3", "rest-xml")], "sqs": [ident("sqs", "json"), ident("sqs", "query")]},
        operations_index={"ListQueues": [ident("sqs", "query"), ident("sqs", "json")], "GetObject": [ident("s3", "rest-xml")]},
        endpoint_prefix_index={"s3": [ident("s3", "rest-xml")]},
    )
    before = {a: {k: list(v) for k, v in getattr(index, a).items()} for a in service_catalog_shared_identifiers.INDEXES}
    assert service_catalog_shared_identifiers.share_identifiers(index) is index
    after = {a: getattr(index, a) for a in service_catalog_shared_identifiers.INDEXES}
    assert after == before  # same keys, same identifiers, same order
    mentions = [i for a in after.values() for ids in a.values() for i in ids]
    assert len({id(i) for i in mentions}) == len(set(mentions)) == 3
    assert index.operations_index["ListQueues"][1] is index.signing_name_index["sqs"][0]


def test_lazy_clients_with_their_own_slots_are_built_once_on_first_read_by_concurrent_readers():
    made: list[str] = []

    def make(kind: str):
        def build() -> str:
            made.append(kind)
            return f"{kind}-client"
        return build

    class Provider:
        cw_client = lazy_client(make("cloudwatch"), "_cw")
        s3_client = lazy_client(make("s3"))

    provider = Provider()
    assert made == []  # nothing built with the object
    seen = read_concurrently(lambda: provider.cw_client)
    assert seen == ["cloudwatch-client"] * 4 and made == ["cloudwatch"]
    assert provider.s3_client == "s3-client" and vars(provider) == {"_cw": "cloudwatch-client", "_sagestack_s3_client": "s3-client"}


# Run in LocalStack's venv: LocalStack's stock loaders next to the patched ones, on the same files.
STOCK_VS_PATCHED = r"""
import json, sys
from pathlib import Path
from localstack.aws import spec
from sagestack_localstack import patches
from sagestack_localstack.boot import shared_catalog

SERVICES = ("s3", "apigateway", "iam", "lambda", "logs", "sts", "cloudwatch", "sqs")
stock = spec.CustomLoader(spec.load_spec_patches())  # built before the patches, as LocalStack ships it
stock_models = {s: stock.load_service_model(s, "service-2") for s in SERVICES}
catalog = shared_catalog(Path(sys.argv[1]))
stock_index = spec.load_service_index_cache(str(catalog))
for name in ("service_specs_compact", "service_spec_patches_in_place", "service_catalog_shared_identifiers"):
    patches._apply(name)

def without_docs(value):
    if isinstance(value, dict):
        return {k: without_docs(v) for k, v in value.items() if not (k == "documentation" and isinstance(v, str))}
    if isinstance(value, list):
        return [without_docs(v) for v in value]
    return value

def kinds(value):  # the JSON objects' Python types
    if isinstance(value, dict):
        return {type(value).__name__}.union(*(kinds(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(kinds(v) for v in value))
    return set()

report = {}
for s in SERVICES:
    model = spec.load_service(s)
    raw = model._service_description
    name = f"{s}/{model.api_version}/service-2"
    report[s] = {  # equal, and in the same order (what serialised answers follow)
        # (LocalStack's own spec patches add shapes with their documentation: those keep it)
        "same": without_docs(stock_models[s]) == without_docs(raw)
                and json.dumps(without_docs(stock_models[s])) == json.dumps(without_docs(raw)),
        "kinds": sorted(kinds(raw)),
        "fewer_docs": json.dumps(raw).count('"documentation": "') * 10 < json.dumps(stock_models[s]).count('"documentation": "'),
        # one parsed model per file: botocore's cached parse is the patched model itself
        "one_copy": spec.loader.load_data_with_path(name)[0] is spec.loader.load_data(name) is raw,
        "operations": sorted(model.operation_names) == sorted(stock_models[s]["operations"]),
    }
index = spec.load_service_index_cache(str(catalog))
indexes = ("target_prefix_index", "signing_name_index", "operations_index", "endpoint_prefix_index")
mentions = [i for a in indexes for ids in getattr(index, a).values() for i in ids]
report["catalog"] = {
    "same": all(getattr(index, a) == getattr(stock_index, a) for a in indexes) and index.service_names == stock_index.service_names,
    "objects": len({id(i) for i in mentions}), "values": len(set(mentions)), "mentions": len(mentions),
}
patches._apply("logs_cloudwatch_client_on_demand")
from localstack.services.logs.provider import LogsProvider
provider = LogsProvider()
built_at_init = "_sagestack_cw_client" in vars(provider)
client = provider.cw_client
report["logs"] = {"built_at_init": built_at_init, "service": client.meta.service_model.service_name,
                  "reused": provider.cw_client is client}
print(json.dumps(report))
"""


def test_patched_loaders_hold_localstacks_own_models_and_catalog_once_and_smaller(tmp_path):
    from emulator.localstack import runtime_venv

    venv = runtime_venv.ensure_venv()
    env = {"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path), "FILESYSTEM_ROOT": str(tmp_path / "fs"),
           "XDG_CACHE_HOME": str(tmp_path / "cache"), "LOCALSTACK_VOLUME_DIR": str(tmp_path / "volume"),
           "CONFIG_DIR": str(tmp_path / "config"), "OVERRIDE_IN_DOCKER": "0", "DISABLE_EVENTS": "1"}
    proc = subprocess.run([str(runtime_venv.venv_python(venv)), "-c", STOCK_VS_PATCHED, str(runtime_venv.catalog_dir(venv))],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    catalog, logs = report.pop("catalog"), report.pop("logs")
    for service, found in report.items():
        assert found == {"same": True, "kinds": ["dict"], "fewer_docs": True, "one_copy": True, "operations": True}, service
    assert catalog["same"] and catalog["objects"] == catalog["values"] < catalog["mentions"] / 10
    assert logs == {"built_at_init": False, "service": "cloudwatch", "reused": True}

