"""Start-up mechanisms of the boot (unit level, no LocalStack needed): what is deferred until after
the gateway answers still happens, once, and leaves the process as it would have been."""

from __future__ import annotations

import gc

import pytest

from emulator.localstack.plugin.sagestack_localstack.patches import gc_paused_during_boot


@pytest.fixture
def collector():
    """The collector's state and the patch's flag, restored after the test."""
    was_enabled = gc.isenabled()
    gc_paused_during_boot._paused = False
    yield
    gc_paused_during_boot._paused = False
    (gc.enable if was_enabled else gc.disable)()


def test_the_collector_is_paused_at_boot_and_handed_back_once_with_a_collection(collector, monkeypatch):
    gc.enable()
    gc_paused_during_boot.apply()
    assert not gc.isenabled() and gc_paused_during_boot.paused()
    collections: list[int] = []
    monkeypatch.setattr(gc_paused_during_boot.gc, "collect", lambda *a: collections.append(1) or 0)
    gc_paused_during_boot.resume()
    assert gc.isenabled() and not gc_paused_during_boot.paused()
    assert collections == [1]  # the cycles made while paused are freed now, not at some later threshold
    gc.disable()  # someone else's choice after the hand-back ...
    gc_paused_during_boot.resume()
    assert not gc.isenabled() and collections == [1]  # ... is not overridden by a second resume


def test_a_collector_disabled_before_boot_stays_disabled(collector):
    gc.disable()
    gc_paused_during_boot.apply()
    assert not gc_paused_during_boot.paused()
    gc_paused_during_boot.resume()
    assert not gc.isenabled()


def test_cycles_made_while_paused_are_freed_by_the_hand_back(collector):
    import weakref

    class Node:
        pass

    gc.enable()
    gc_paused_during_boot.apply()
    node = Node()
    node.self = node  # a cycle: reference counting alone never frees it
    alive = weakref.ref(node)
    del node
    assert alive() is not None
    gc_paused_during_boot.resume()
    assert alive() is None


@pytest.fixture
def fake_library(monkeypatch, tmp_path):
    """A library on sys.path (a package with a submodule) that records whether its code ran."""
    import sys

    name = f"sagestack_fake_lib_{id(tmp_path)}"
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text("import os\nRAN = True\n__version__ = '1.0'\ndef load(text):\n    return text.upper()\n")
    (tmp_path / name / "resolver.py").write_text("RAN = True\nclass Resolver:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    yield name
    for module in [n for n in sys.modules if name in n]:
        sys.modules.pop(module)


def test_a_library_only_imported_at_start_runs_on_its_first_attribute_read(fake_library, monkeypatch):
    import importlib
    import sys

    from emulator.localstack.plugin.sagestack_localstack.patches import libraries_on_demand

    monkeypatch.setattr(libraries_on_demand, "MODULES", {fake_library: (), f"{fake_library}.resolver": ()})
    libraries_on_demand.apply()
    library = importlib.import_module(fake_library)  # `import docker` to learn that it is installed
    assert "RAN" not in vars(library)  # ... answers without running the library
    resolver_module = importlib.import_module(f"{fake_library}.resolver")  # `import dns.resolver`
    assert "RAN" not in vars(resolver_module)
    parent = sys.modules[fake_library]
    assert parent.resolver.Resolver.__name__ == "Resolver"  # `dns.resolver.Resolver()` inside a function
    assert sys.modules[f"{fake_library}.resolver"].RAN
    assert library.load("x") == "X"  # `yaml.safe_load(...)` through the module an importer holds: the real one
    real = sys.modules[fake_library]
    assert real.RAN and real.__version__ == "1.0" and importlib.import_module(fake_library) is real


def test_a_listed_name_is_a_forwarder_only_until_the_library_loads(fake_library, monkeypatch, tmp_path):
    """jinja2's case: the swagger endpoints take Environment before anything loads jinja2 and only call it;
    moto, importing later, subclasses DictLoader and must get the library's own classes."""
    import importlib
    import sys

    from emulator.localstack.plugin.sagestack_localstack.patches import libraries_on_demand

    (tmp_path / fake_library / "__init__.py").write_text(
        "RAN = True\nclass Environment:\n    def __init__(self, loader=None):\n        self.loader = loader\n"
        "class DictLoader:\n    pass\n")
    (tmp_path / "early_importer.py").write_text(f"from {fake_library} import Environment\n")
    (tmp_path / "late_importer.py").write_text(
        f"from {fake_library} import DictLoader, Environment\nclass Mine(DictLoader):\n    pass\n")
    monkeypatch.setattr(libraries_on_demand, "MODULES", {fake_library: ("Environment",)})
    libraries_on_demand.apply()
    try:
        early = importlib.import_module("early_importer")
        stand_in = sys.modules[fake_library]
        assert "RAN" not in vars(stand_in) and not isinstance(early.Environment, type)  # a forwarder, nothing ran
        late = importlib.import_module("late_importer")  # DictLoader (not listed) loads the library ...
        real = sys.modules[fake_library]
        assert real is not stand_in and real.RAN
        assert late.Environment is real.Environment  # ... and the listed name read after it is the real class
        assert issubclass(late.Mine, real.DictLoader)
        environment = early.Environment(loader="x")  # the early importer's forwarder calls the real class
        assert isinstance(environment, real.Environment) and environment.loader == "x"
        assert stand_in.Environment is real.Environment  # whoever still holds the stand-in gets real objects
    finally:
        for module in ("early_importer", "late_importer"):
            sys.modules.pop(module, None)


def test_the_deferred_libraries_are_real_installed_modules_of_localstacks_venv():
    """A stand-in is only served for a module that exists (else the import fails as before); check that the
    names listed are the modules LocalStack's importers name, in the venv LocalStack runs in."""
    import subprocess

    from emulator.localstack import runtime_venv
    from emulator.localstack.plugin.sagestack_localstack.patches import libraries_on_demand

    python = runtime_venv.venv_python(runtime_venv.ensure_venv())
    code = ("import importlib.util, sys\n"
            "missing = [m for m in sys.argv[1:] if importlib.util.find_spec(m) is None]\n"
            "print(','.join(missing))\n")
    found = subprocess.run([str(python), "-c", code, *libraries_on_demand.MODULES], capture_output=True, text=True,
                           check=True)
    assert found.stdout.strip() == ""


PYDANTIC_DISPATCH_CHECK = """
import json, sys
from sagestack_localstack import patches
from sagestack_localstack.patches.pydantic_dispatch_on_demand import pydantic_loaded

patches.apply_on_import("early")
from rolo import Request, Router
from rolo.routing import handler_dispatcher
from rolo.routing.handler import HandlerDispatcher

out = {}
router = Router(dispatcher=handler_dispatcher())
router.add("/plain/<name>", lambda request, name: {"hello": name})
router.add("/text", lambda request: "text")
r = router.dispatch(Request("GET", "/plain/x"))
out["plain"] = [r.status_code, r.mimetype, r.get_data(as_text=True)]
out["text"] = router.dispatch(Request("GET", "/text")).get_data(as_text=True)
out["loaded_after_plain_routes"] = pydantic_loaded()
out["dispatcher"] = type(router.dispatcher).__name__
out["is_plain_subclass"] = isinstance(router.dispatcher, HandlerDispatcher)

from pydantic import BaseModel  # some module uses pydantic: models can exist from now on
from rolo.routing.pydantic import PydanticHandlerDispatcher

class Item(BaseModel):
    name: str
    count: int

def create(request, item: Item):
    return Item(name=item.name.upper(), count=item.count + 1)

results = {}
for label, dispatcher in (("on_demand", router.dispatcher), ("rolo", PydanticHandlerDispatcher())):
    r2 = Router(dispatcher=dispatcher)
    r2.add("/items", create, methods=["POST"])
    ok = r2.dispatch(Request("POST", "/items", body=b'{"name": "a", "count": 1}', headers={"Content-Type": "application/json"}))
    bad = r2.dispatch(Request("POST", "/items", body=b'{"name": "a"}', headers={"Content-Type": "application/json"}))
    results[label] = [ok.status_code, ok.get_data(as_text=True), bad.status_code, bad.get_data(as_text=True)]
out["models"] = results
out["loaded_after_import"] = pydantic_loaded()
print(json.dumps(out))
"""


def test_routers_answer_as_rolos_pydantic_dispatcher_without_importing_pydantic_until_a_module_does():
    """Run in LocalStack's venv (rolo and pydantic live there): the plain routes answer without pydantic
    being imported, and once it is, a model route answers exactly as rolo's own PydanticHandlerDispatcher."""
    import json
    import subprocess

    from emulator.localstack import runtime_venv

    python = runtime_venv.venv_python(runtime_venv.ensure_venv())
    run = subprocess.run([str(python), "-c", PYDANTIC_DISPATCH_CHECK], capture_output=True, text=True, check=True)
    out = json.loads(run.stdout)
    assert out["plain"] == [200, "application/json", '{"hello": "x"}'] and out["text"] == "text"
    assert out["loaded_after_plain_routes"] is False  # the routes answered; pydantic never ran
    assert out["dispatcher"] == "PydanticOnDemandDispatcher" and out["is_plain_subclass"]
    assert out["loaded_after_import"] is True
    on_demand, rolo = out["models"]["on_demand"], out["models"]["rolo"]
    assert on_demand == rolo  # model parsed, model returned, validation error: byte for byte
    assert on_demand[0] == 200 and json.loads(on_demand[1]) == {"name": "A", "count": 2} and on_demand[2] == 400


H2C_HEALTH = """
# HTTP/2 prior-knowledge (h2c) GET of the health route, with the h2 library; prints status and body
import socket, sys, json
import h2.connection, h2.events, h2.config
port = int(sys.argv[1]); path = sys.argv[2] if len(sys.argv) > 2 else "/_localstack/health"
s = socket.create_connection(("127.0.0.1", port), timeout=10)
c = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
c.initiate_connection(); s.sendall(c.data_to_send())
c.send_headers(1, [(":method", "GET"), (":path", path), (":scheme", "http"), (":authority", f"127.0.0.1:{port}")], end_stream=True)
s.sendall(c.data_to_send())
status = None; body = b""; done = False
while not done:
    data = s.recv(65536)
    if not data: break
    for ev in c.receive_data(data):
        if isinstance(ev, h2.events.ResponseReceived): status = dict(ev.headers)[b":status"].decode()
        elif isinstance(ev, h2.events.DataReceived): body += ev.data; c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.StreamEnded): done = True
    s.sendall(c.data_to_send())
print(status, len(body), sorted(json.loads(body)) if body.startswith(b"{") else body[:80])
"""


def test_http2_prior_knowledge_is_served_through_the_deferred_http2_channel(localstack):
    """twisted's HTTP/2 channel loads on the first HTTP/2 connection (libraries_on_demand): such a
    connection is still answered (h2c, as LocalStack's TLS multiplexer detects it), by LocalStack's venv h2 client."""
    import subprocess

    from emulator.localstack import runtime_venv

    python = runtime_venv.venv_python(runtime_venv.ensure_venv())
    for _ in range(2):  # the first connection loads the module, the second finds it loaded
        run = subprocess.run([str(python), "-c", H2C_HEALTH, str(localstack.port)], capture_output=True, text=True,
                             timeout=60, check=True)
        assert run.stdout.split(" ", 2)[0] == "200" and "'services'" in run.stdout


DNS_HOOKS_CHECK = """
import json, logging, os, socket, sys
os.environ["DNS_ADDRESS"] = sys.argv[1]
from sagestack_localstack import patches
if sys.argv[2] == "patched":
    patches.apply_all("boot")
from localstack import config
from localstack.dns import server
from localstack.dns.plugins import setup_dns_configuration_on_host, start_dns_server
from sagestack_localstack.patches.modules_on_demand import _StandIn

records = []
handler = logging.Handler(); handler.emit = lambda record: records.append(record.getMessage())
logging.getLogger("localstack.dns.server").addHandler(handler); logging.getLogger("localstack.dns.server").setLevel(logging.DEBUG)
probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); probe.bind(("127.0.0.1", 0)); port = probe.getsockname()[1]; probe.close()
config.DNS_PORT = port
start_dns_server.__wrapped__() if hasattr(start_dns_server, "__wrapped__") else start_dns_server()
setup_dns_configuration_on_host.__wrapped__() if hasattr(setup_dns_configuration_on_host, "__wrapped__") else setup_dns_configuration_on_host()
from localstack.dns import server as after
out = {"stand_in": isinstance(sys.modules["localstack.dns.server"], _StandIn), "running": after.is_server_running(),
       "log": [r for r in records if "DNS" in r]}
out["fallback_is_real"] = after.get_fallback_dns_server() == sys.modules["localstack.dns.server"].get_fallback_dns_server()
out["stand_in_after_other_name"] = isinstance(sys.modules["localstack.dns.server"], _StandIn)
print(json.dumps(out))
os._exit(0)
"""


@pytest.mark.parametrize("dns_address", ["0", "127.0.0.1"])
def test_dns_hooks_behave_as_shipped_and_load_the_server_module_only_when_dns_is_on(dns_address):
    """LocalStack's two DNS start hooks, run in its venv with and without the patch: same log, same answer; with
    DNS off the server module stays a stand-in until another name of it is used."""
    import json
    import subprocess

    from emulator.localstack import runtime_venv

    python = str(runtime_venv.venv_python(runtime_venv.ensure_venv()))
    runs = {mode: json.loads(subprocess.run([python, "-c", DNS_HOOKS_CHECK, dns_address, mode], capture_output=True,
                                            text=True, timeout=120, check=True).stdout)
            for mode in ("patched", "shipped")}
    patched, shipped = runs["patched"], runs["shipped"]
    assert patched["log"] == shipped["log"] and patched["running"] == shipped["running"]
    assert patched["stand_in"] is (dns_address == "0") and shipped["stand_in"] is False
    assert patched["fallback_is_real"] and not patched["stand_in_after_other_name"]


def test_swagger_ui_and_moto_templates_render_through_the_deferred_jinja2(localstack, iam):
    """jinja2 loads on first use (libraries_on_demand): LocalStack's swagger page renders with it, and moto's
    XML responses (jinja2 templates, IAM here) still come out as AWS's."""
    import http.client

    from contract import names

    conn = http.client.HTTPConnection(names.LOOPBACK, localstack.port, timeout=30)
    conn.request("GET", "/_localstack/swagger")
    response = conn.getresponse()
    body = response.read().decode()
    conn.close()
    assert response.status == 200 and response.getheader("Content-Type", "").startswith("text/html")
    assert "swagger" in body.lower() and "/openapi.yaml" in body
    role = iam.create_role(RoleName="boot-jinja2", AssumeRolePolicyDocument='{"Version": "2012-10-17", "Statement": []}')
    assert role["Role"]["RoleName"] == "boot-jinja2" and role["Role"]["Arn"].endswith(":role/boot-jinja2")
    iam.delete_role(RoleName="boot-jinja2")


WEBSOCKET_CHECK = """
import json, sys
from queue import Queue
if sys.argv[1] == "patched":
    from sagestack_localstack.patches import wsproto_on_demand
    wsproto_on_demand.apply()
from wsproto import ConnectionState, ConnectionType, WSConnection, events

class Handler:  # what rolo.serving.twisted evaluates at import: annotations naming events.Event
    eventQueue: Queue[events.Event]
    def wsSend(self, event: events.Event):
        return event

def real(name):
    module = sys.modules.get(name)
    return module is not None and type(module).__name__ == "module"

out = {"loaded_after_definitions": real("wsproto")}
conn = WSConnection(ConnectionType.SERVER)
out["loaded_after_use"] = real("wsproto")
out["client"] = conn.client
conn.receive_data(b"GET /ws HTTP/1.1\\r\\nHost: localhost\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n"
                  b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n")
evs = list(conn.events())
out["request"] = [isinstance(e, events.Request) for e in evs]
accept = conn.send(events.AcceptConnection())
out["accept"] = accept.decode().split("\\r\\n")[0]
out["open"] = conn.state == ConnectionState.OPEN and conn.state in (ConnectionState.OPEN, ConnectionState.CLOSED)
conn.receive_data(bytes([0x81, 0x82, 1, 2, 3, 4, ord("h") ^ 1, ord("i") ^ 2]))  # masked text frame "hi"
msgs = list(conn.events())
out["message"] = [(type(m).__name__, m.data) for m in msgs if isinstance(m, events.TextMessage)]
out["pong"] = conn.send(events.Pong(b"x")).hex()
out["closing"] = conn.send(events.CloseConnection(1000)).hex()
out["state"] = str(conn.state)
out["local_closing"] = conn.state == ConnectionState.LOCAL_CLOSING
print(json.dumps(out))
"""


def test_websocket_protocol_answers_as_shipped_through_the_lazy_wsproto_names():
    """rolo.serving.twisted's use of wsproto (annotations at import, then a server handshake, a message, ping
    and close), run in LocalStack's venv with and without the patch: same bytes, same states; with the patch
    the definitions load nothing."""
    import json
    import subprocess

    from emulator.localstack import runtime_venv

    python = str(runtime_venv.venv_python(runtime_venv.ensure_venv()))
    runs = {mode: json.loads(subprocess.run([python, "-c", WEBSOCKET_CHECK, mode], capture_output=True, text=True,
                                            timeout=60, check=True).stdout) for mode in ("patched", "shipped")}
    patched, shipped = runs["patched"], runs["shipped"]
    assert patched.pop("loaded_after_definitions") is False and shipped.pop("loaded_after_definitions") is True
    assert patched == shipped
    assert patched["accept"] == "HTTP/1.1 101 Switching Protocols" and patched["message"] == [["TextMessage", "hi"]]
    assert patched["open"] and patched["local_closing"] and patched["client"] is False


LAMBDA_ROUTES_CHECK = """
import json, sys
from rolo import Router
from rolo.routing import handler_dispatcher
from sagestack_localstack.patches import lambda_custom_endpoints_on_demand as patch

def rules(instance):
    router = Router(dispatcher=handler_dispatcher())
    return sorted((r.rule, sorted(r.methods), r.endpoint.__name__) for r in router.add(instance))

patch.apply()
from localstack.services.lambda_ import custom_endpoints as stand_in
loaded_before_use = "localstack.aws.api.lambda_" in sys.modules
stand_in_rules = rules(stand_in.LambdaCustomEndpoints())
real = patch._real_module()
print(json.dumps({"stand_in": stand_in_rules, "real": rules(real.LambdaCustomEndpoints()),
                  "is_stand_in": stand_in.LambdaCustomEndpoints is not real.LambdaCustomEndpoints,
                  "api_loaded_before_use": loaded_before_use}))
"""


def test_lambda_custom_endpoint_stand_in_declares_localstacks_routes_without_loading_lambdas_api():
    """The stand-in's routes (path, methods, handler) are LocalStack's class's, read from both with rolo's router in
    LocalStack's venv; declaring them loads nothing of Lambda."""
    import json
    import subprocess

    from emulator.localstack import runtime_venv

    python = str(runtime_venv.venv_python(runtime_venv.ensure_venv()))
    out = json.loads(subprocess.run([python, "-c", LAMBDA_ROUTES_CHECK], capture_output=True, text=True, timeout=60,
                                    check=True).stdout)
    assert out["stand_in"] == out["real"] and len(out["real"]) == 2
    assert out["is_stand_in"] and out["api_loaded_before_use"] is False


def test_lambda_runtimes_route_answers_through_localstacks_own_handler(localstack):
    import http.client
    import json

    from contract import names

    conn = http.client.HTTPConnection(names.LOOPBACK, localstack.port, timeout=30)
    conn.request("GET", "/_aws/lambda/runtimes?filter=all")
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()
    assert response.status == 200 and {"python3.12", "python3.7"} <= set(body["Runtimes"])  # supported + deprecated


def test_the_running_localstack_version_is_the_installed_distributions():
    """patches.running_localstack_version reads localstack.version (no scan of every distribution): it must
    name the same version as the installed localstack-core distribution, in LocalStack's venv."""
    import subprocess

    from emulator.localstack import runtime_venv

    python = str(runtime_venv.venv_python(runtime_venv.ensure_venv()))
    code = ("import importlib.metadata\nfrom sagestack_localstack import patches\n"
            "print(patches.running_localstack_version(), importlib.metadata.version('localstack-core'))\n")
    ours, installed = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60,
                                     check=True).stdout.split()
    assert ours == installed == runtime_venv.LOCALSTACK_VERSION


def test_plux_index_files_are_seeded_from_and_shared_to_the_venv_wide_directory(monkeypatch, tmp_path):
    from emulator.localstack.plugin.sagestack_localstack import boot

    shared, private = tmp_path / "shared" / "plux", tmp_path / "cache" / "plux"
    monkeypatch.setattr(boot, "_plugin_index_dirs", lambda: (shared, private))
    boot.seed_plugin_index()  # nothing shared yet: nothing to copy, nothing fails
    assert not private.exists()
    private.mkdir(parents=True)
    (private / "aaa.entry_points.txt").write_text("[group]\nname = module:attr\n")  # what plux built
    boot.share_plugin_index()
    assert (shared / "aaa.entry_points.txt").read_text() == "[group]\nname = module:attr\n"
    assert [p.name for p in shared.iterdir()] == ["aaa.entry_points.txt"]  # no temporary file left behind
    (private / "aaa.entry_points.txt").write_text("changed")
    boot.share_plugin_index()  # an existing shared index is never rewritten
    assert (shared / "aaa.entry_points.txt").read_text().startswith("[group]")
    (shared / "bbb.entry_points.txt").write_text("[other]\n")
    boot.seed_plugin_index()  # another state dir's start: gets the shared files it does not have
    assert (private / "bbb.entry_points.txt").read_text() == "[other]\n"
    assert (private / "aaa.entry_points.txt").read_text() == "changed"  # its own are kept


NATIVE_LIBRARIES_CHECK = """
import json, sys
mode = sys.argv[1]
if mode == "patched":
    from sagestack_localstack.patches import native_libraries_on_demand
    native_libraries_on_demand.apply()
import botocore.compat, botocore.httpsession, botocore.httpchecksum
out = {"has_crt": botocore.compat.HAS_CRT,
       "loaded_at_import": sorted(m for m in ("OpenSSL", "cryptography.x509") if m in sys.modules)
                           + (["_awscrt"] if type(sys.modules.get("_awscrt")).__name__ == "module" else []),
       "ssl_context": botocore.httpsession.SSLContext.__module__ + "." + botocore.httpsession.SSLContext.__name__}
checksum = botocore.httpchecksum.CrtCrc32cChecksum()
checksum.update(b"sagestack")
out["crc32c"] = checksum.b64digest()
from awscrt import auth
out["crt_credentials"] = type(auth.AwsCredentialsProvider.new_static("AKID", "SECRET")).__name__
from urllib3.contrib import pyopenssl
out["inject"] = callable(pyopenssl.inject_into_urllib3)
out["orig_is_urllib3s"] = pyopenssl.orig_util_SSLContext is __import__("urllib3.util.ssl_", fromlist=["x"]).SSLContext
print(json.dumps(out))
"""


def test_botocores_native_libraries_load_on_first_use_and_answer_as_shipped():
    """awscrt's extension and pyOpenSSL are not loaded by importing botocore (patches/native_libraries_on_demand.py);
    botocore sees the same HAS_CRT and SSLContext, and a CRT checksum, a CRT credentials object and pyOpenSSL's
    own functions work through the stand-ins, with the same results as unpatched."""
    import json
    import subprocess

    from emulator.localstack import runtime_venv

    python = str(runtime_venv.venv_python(runtime_venv.ensure_venv()))
    runs = {mode: json.loads(subprocess.run([python, "-P", "-c", NATIVE_LIBRARIES_CHECK, mode], capture_output=True,
                                            text=True, timeout=60, check=True).stdout) for mode in ("patched", "shipped")}
    patched, shipped = runs["patched"], runs["shipped"]
    assert patched.pop("loaded_at_import") == [] and shipped.pop("loaded_at_import") == ["OpenSSL", "cryptography.x509", "_awscrt"]
    assert patched == shipped
    assert patched["has_crt"] is True and patched["ssl_context"] == "ssl.SSLContext" and patched["orig_is_urllib3s"]
