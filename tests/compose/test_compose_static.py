"""Static checks of docker-compose.yml and the Dockerfiles it builds (no Docker engine needed).

What cannot run here (no engine): building the images and starting the containers. What can:
the compose file parses, references build contexts and Dockerfiles that exist, publishes ports
on 127.0.0.1 only, has healthchecks and named volumes and no docker.sock; the Dockerfiles use
exact base-image versions and install only pinned packages; the LocalStack image is configured
like the host launcher. `docker compose config` validates the file when the compose plugin exists.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from contract import names

ROOT = names.PROJECT_ROOT
COMPOSE = ROOT / "docker-compose.yml"
LOCALSTACK_DOCKERFILE = ROOT / "emulator" / "localstack" / "Dockerfile"
PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==[A-Za-z0-9.+!-]+$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _build_paths(service: dict) -> tuple[Path, Path]:
    build = service["build"]
    context = (ROOT / build["context"]).resolve()
    return context, context / build.get("dockerfile", "Dockerfile")


def _dockerfiles(compose: dict) -> list[Path]:
    return [_build_paths(s)[1] for s in compose["services"].values() if "build" in s]


def test_services_and_volumes(compose):
    assert set(compose["services"]) == {"localstack", "sagemaker", "deploy"}
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source, target = re.match(r"^(\$\{[^}]*\}|[^:]*):([^:]+)", volume).groups()
            if name == "deploy" and target == "/host-outputs":  # the one bind mount: outputs.json for the host
                assert source == "${SAGESTACK_OUTPUTS_DIR:-./.sagestack}", source
                continue
            assert not source.startswith(("/", ".", "$")), f"{name}: bind mount {volume!r}; use a named volume"
            assert source in declared, f"{name}: volume {source!r} is not declared"


def test_build_contexts_exist(compose):
    for name, service in compose["services"].items():
        if "build" not in service:
            assert service.get("image"), f"{name} has neither build nor image"
            continue
        context, dockerfile = _build_paths(service)
        assert context.is_dir(), f"{name}: build context {context} does not exist"
        if not dockerfile.exists() and name == "sagemaker":
            pytest.skip(f"{dockerfile.relative_to(ROOT)} (the SageMaker emulator's image) is not in the repo yet")
        assert dockerfile.is_file(), f"{name}: {dockerfile} does not exist"


def test_deploy_reuses_a_built_image(compose):
    built = {s.get("image") for s in compose["services"].values() if "build" in s}
    deploy = compose["services"]["deploy"]
    assert deploy["image"] in built
    # long-lived: deploys, warms, writes the host's outputs.json, then stays healthy (`up --wait` succeeds)
    assert deploy["command"] == ["python", "-m", "deploy.compose_service", "serve"]
    assert deploy["healthcheck"]["test"][0] == "CMD"
    assert deploy["environment"]["SAGESTACK_HOST_OUTPUTS"] == "/host-outputs/outputs.json"
    assert deploy["environment"]["SAGESTACK_PUBLISHED_LOCALSTACK_URL"] == "http://127.0.0.1:${SAGESTACK_LOCALSTACK_PORT:-4566}"
    assert deploy["environment"]["AWS_ENDPOINT_URL"] == "http://localstack:4566"
    assert deploy["environment"]["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] == "http://sagemaker:4567"
    for dependency in ("localstack", "sagemaker"):
        # started beside them; deploy.compose_service waits for their health routes itself
        assert deploy["depends_on"][dependency]["condition"] == "service_started"


def test_ports_only_on_loopback(compose):
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith(f"{names.LOOPBACK}:"), f"{name}: port {port!r} is not bound to 127.0.0.1"
    assert "127.0.0.1:${SAGESTACK_LOCALSTACK_PORT:-4566}:4566" in compose["services"]["localstack"]["ports"]
    assert "127.0.0.1:${SAGESTACK_SAGEMAKER_PORT:-4567}:4567" in compose["services"]["sagemaker"]["ports"]


def test_long_running_services_have_healthchecks(compose):
    for name in ("localstack", "sagemaker", "deploy"):
        check = compose["services"][name]["healthcheck"]
        assert check["test"][0] in ("CMD", "CMD-SHELL") and len(check["test"]) > 1


def test_no_docker_socket_and_no_auth_token():
    text = COMPOSE.read_text() + LOCALSTACK_DOCKERFILE.read_text()
    live = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert "docker.sock" not in live
    assert "LOCALSTACK_AUTH_TOKEN" not in live


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def _lock_file_is_pinned(path: Path) -> None:
    lines = [ln.split("#")[0].strip() for ln in path.read_text().splitlines()]
    specs = [ln for ln in lines if ln]
    assert specs, f"{path} is empty"
    for spec in specs:
        assert PIN.match(spec), f"{path}: {spec!r} is not pinned with =="


def _check_pip_install(args: list[str], context: Path, dockerfile: Path) -> None:
    """Every package is name==version, or comes from a pinned requirements/constraints file."""
    constrained = requirements_from_project = False
    targets: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-r", "--requirement") and args[i + 1] == "pyproject.toml":  # uv: the project's dependencies
            requirements_from_project = True
            i += 2
            continue
        if arg in ("-r", "--requirement", "-c", "--constraint"):
            ref = args[i + 1]
            local = context / ref.lstrip("/").split("/", 2)[-1] if ref.startswith("/") else context / ref
            candidates = [local, context / Path(ref).name]
            found = next((p for p in candidates if p.is_file()), None)
            assert found, f"{dockerfile}: {ref} not found in the build context"
            _lock_file_is_pinned(found) if arg in ("-r", "--requirement") else None
            constrained = constrained or arg in ("-c", "--constraint")
            i += 2
            continue
        if arg in ("--target", "-t", "--prefix", "--root", "-i", "--index-url", "--extra-index-url", "-f", "-p", "--python", "--excludes"):
            i += 2
            continue
        if not arg.startswith("-"):
            targets.append(arg)
        i += 1
    assert constrained or not requirements_from_project, f"{dockerfile}: pyproject.toml's ranges installed without -c constraints"
    for target in targets:
        if target.startswith((".", "/")):  # a local project: its dependencies must be constrained
            assert constrained or "--no-deps" in args, f"{dockerfile}: local install {target!r} without -c constraints"
        else:
            pinned = PIN.match(target.split(";")[0]) or (constrained and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", target))
            assert pinned, f"{dockerfile}: pip installs unpinned {target!r} (give name==version, or -c constraints)"


def _dockerfile_checks(dockerfile: Path, context: Path) -> None:
    steps = _instructions(dockerfile)
    for keyword, rest in steps:
        if keyword == "FROM":
            image = rest.split()[0]
            assert ":" in image and not image.endswith(":latest"), f"{dockerfile}: {image} has no exact tag"
            assert re.search(r":\d+\.\d+\.\d+", image) or "@sha256:" in image, f"{dockerfile}: {image} is not pinned"
        if keyword == "RUN":
            for command in re.split(r"&&|;|\|\|", rest):
                words = shlex.split(command)
                if "pip" in " ".join(words[:4]) and "install" in words:
                    _check_pip_install(words[words.index("install") + 1 :], context, dockerfile)
                assert not {"curl", "wget"} & set(words), f"{dockerfile}: downloads outside a package manager"
                if words[:1] in (["apt-get"], ["apk"]) and "install" in words:
                    pytest.fail(f"{dockerfile}: OS packages without versions: {command}")
        if keyword in ("COPY", "ADD") and "--from=" not in rest:
            sources = shlex.split(rest)[:-1]
            for source in sources:
                assert (context / source).exists(), f"{dockerfile}: COPY source {source} missing from context"


def test_localstack_dockerfile_installs_only_pinned_packages():
    context = LOCALSTACK_DOCKERFILE.parent
    _dockerfile_checks(LOCALSTACK_DOCKERFILE, context)
    _lock_file_is_pinned(context / "requirements.lock")
    _lock_file_is_pinned(context / "lambda-runtime.lock")
    lock = (context / "requirements.lock").read_text()
    assert "localstack-core==2026.3.0" in lock
    cbor2 = re.search(r"^cbor2==(\d+)\.", lock, re.M)
    assert cbor2 and int(cbor2.group(1)) < 6  # cbor2 6.x breaks LocalStack's import
    assert re.search(r"^service-identity==", lock, re.M | re.I)


def test_every_built_dockerfile_installs_only_pinned_packages(compose):
    for service in compose["services"].values():
        if "build" not in service:
            continue
        context, dockerfile = _build_paths(service)
        if dockerfile.exists():
            _dockerfile_checks(dockerfile, context)


def test_localstack_image_is_configured_like_the_host_launcher(tmp_path):
    from emulator.localstack.launcher import LocalStackProcess

    host_env = LocalStackProcess(port=4566, state_dir=tmp_path).environment()
    image_env: dict[str, str] = {}
    for keyword, rest in _instructions(LOCALSTACK_DOCKERFILE):
        if keyword == "ENV":
            for token in shlex.split(rest):
                key, _, value = token.partition("=")
                image_env[key] = value
    same = ("OVERRIDE_IN_DOCKER", "SKIP_SSL_CERT_DOWNLOAD", "DISABLE_EVENTS", "DNS_ADDRESS", "DEBUG", "LS_LOG",
            "SERVICES", "EAGER_SERVICE_LOADING", "LAMBDA_RUNTIME_EXECUTOR", "PYTHONUNBUFFERED",
            "IN_MEMORY_CLIENT", "SAGESTACK_WARM_SERVICES", "LOG_LEVEL_OVERRIDES", "GATEWAY_SERVER")
    for key in same:
        assert image_env.get(key) == host_env[key], key
    paths = ("FILESYSTEM_ROOT", "LOCALSTACK_VOLUME_DIR", "TMPDIR", "XDG_CACHE_HOME", "CONFIG_DIR",
             "CUSTOM_SSL_CERT_PATH", "SAGESTACK_LAMBDA_RUNTIME_LIBS", "SAGESTACK_SERVICE_CATALOG_DIR")
    for key in paths:
        assert image_env.get(key, "").startswith(("/var/lib/sagestack/", "/opt/sagestack/")), key
    assert set(host_env) - {"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "PYENV_ROOT", "USER", "LOGNAME"} <= set(
        image_env
    ) | {k for k in host_env if k.startswith("SAGESTACK_PYTHON3")}
    assert image_env["GATEWAY_LISTEN"] == "0.0.0.0:4566"  # inside the container; published on 127.0.0.1


def _compose_cli() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy and subprocess.run([legacy, "version"], capture_output=True).returncode == 0:
        return [legacy]
    return None


def test_docker_compose_config_accepts_the_file():
    cli = _compose_cli()
    if cli is None:
        pytest.skip("no `docker compose` plugin or docker-compose binary here (compose config needs no engine)")
    proc = subprocess.run([*cli, "-f", str(COMPOSE), "config", "--quiet"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr


def test_the_emulator_image_keeps_the_botocore_model_of_every_service_the_code_calls():
    """The emulator image drops botocore's models except those listed: a client for any other service
    would fail with UnknownServiceError in the container only, so every client(...) the image's code
    creates must name a listed service."""
    listed = {line.strip() for line in (ROOT / "emulator" / "sagemaker" / "image-botocore-services.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")}
    called: set[str] = set()
    for package in ("contract", "training", "emulator/sagemaker", "deploy", "lambda"):
        for path in (ROOT / package).rglob("*.py"):
            called |= set(re.findall(r"""\bclient\(\s*["']([a-z0-9-]+)["']""", path.read_text()))
    assert called, "no client(...) call found: the scan is broken"
    assert called <= listed, f"services called but dropped from the image: {sorted(called - listed)}"
    assert {"s3", "sagemaker", "sagemaker-runtime"} <= called
