"""deploy.system waits for the process it started, not for whatever server answers on its port."""

import asyncio
import subprocess
import sys
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi import FastAPI

from deploy.system import Exited, System, free_port

pytestmark = pytest.mark.unit


def impostor() -> FastAPI:
    """Another service that took the port first: healthy, ready, and not ours."""
    app = FastAPI()
    app.get("/health")(lambda: {"status": "ok", "service": "order", "pid": 1})
    app.get("/ready")(lambda: {"migration": "0007"})
    return app


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    yield proc
    proc.kill()
    proc.wait()


async def test_an_answer_from_another_process_is_not_taken_for_the_service(
    sleeper: subprocess.Popen[bytes],
) -> None:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(impostor(), host="127.0.0.1", port=port, log_level="error"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        system = System("kafka:9092", "postgresql://x/y", ports={"order": port}, procs={"order": sleeper})
        with pytest.raises(TimeoutError):
            await system.wait_healthy("order", timeout=1.5)
        sleeper.kill()
        sleeper.wait()
        with pytest.raises(Exited):  # and a process that ended is said at once
            await system.wait_healthy("order", timeout=5)
    finally:
        server.should_exit = True
        await serving
