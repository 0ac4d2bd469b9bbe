"""An in-process InvocationHandler behind the real uvicorn protocol, for tests that compare the
InvokeEndpoint transports (fast path in the parser callbacks vs uvicorn's ASGI path)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np

from emulator.sagemaker.app import EmulatorApp
from emulator.sagemaker.config import EmulatorConfig
from emulator.sagemaker.serving import EndpointRoute, ServingVariant
from training.artifact import LinearModel

FEATURES = 30


def unit_model(features: int = FEATURES) -> LinearModel:
    rng = np.random.default_rng(3)
    return LinearModel(predictor_type="binary_classifier", feature_dim=features,
                       feature_names=[f"f{i}" for i in range(features)], weights=rng.normal(size=features) / 10,
                       bias=0.1, feature_shift=np.zeros(features), feature_scale=np.ones(features),
                       loss="logistic", threshold=0.5)


def unit_app(data_dir: Path) -> EmulatorApp:
    app = EmulatorApp(EmulatorConfig(data_dir=data_dir, request_log="-"))
    app.router.publish(EndpointRoute("unit", (ServingVariant("AllTraffic", unit_model(), 1.0),)))
    return app


class Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default=None):
        return {"sockname": ("127.0.0.1", 4567), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_write_buffer_limits(self, *args, **kwargs) -> None:
        pass


def request(body: bytes, *, chunked: bool = False, content_type: str = "text/csv", endpoint: str = "unit") -> bytes:
    head = f"POST /endpoints/{endpoint}/invocations HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
    if chunked:
        return (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + (
            f"{len(body):x}\r\n".encode() + body + b"\r\n" if body else b"") + b"0\r\n\r\n"
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def split_response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def exchange(app: EmulatorApp, raw_requests: list[bytes]) -> list[tuple[int, dict[str, str], bytes, bool]]:
    """Each request on its own protocol instance: (status, headers, body, answered_inline)."""
    import uvicorn
    from uvicorn.server import ServerState

    from emulator.sagemaker.fastpath import InvocationProtocol

    async def run() -> list[tuple[int, dict[str, str], bytes, bool]]:
        config = uvicorn.Config(app, http=InvocationProtocol, proxy_headers=False, lifespan="off",
                                server_header=False, date_header=False)
        config.load()
        answers = []
        for raw in raw_requests:
            protocol = InvocationProtocol(config=config, server_state=ServerState(), app_state={})
            transport = Transport()
            protocol.connection_made(transport)  # type: ignore[arg-type]
            protocol.data_received(raw)
            inline = bool(transport.writes) and not protocol.tasks
            if protocol.tasks:
                await asyncio.gather(*protocol.tasks)
            status, headers, body = split_response(b"".join(transport.writes))
            answers.append((status, headers, body, inline))
            protocol.connection_lost(None)
        return answers

    return asyncio.run(run())
