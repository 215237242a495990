"""The gunicorn worker that corks its connections: the same answers as
gunicorn's sync worker, in fewer TCP segments."""

import importlib.util
import socket
import struct
import subprocess
import sys
import time

import pytest
from django.conf import settings

# struct tcp_info (linux/tcp.h): tcpi_segs_in, the segments this end received.
_SEGS_IN_OFFSET = 140

pytestmark = pytest.mark.skipif(
    not hasattr(socket, "TCP_CORK"), reason="TCP_CORK is Linux's"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(worker_class: str, app: str):
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--worker-class",
            worker_class,
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "--config",
            "/dev/null",
            f"mithrapay.tests.wsgi_apps:{app}",
        ],
        cwd=settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"gunicorn with {worker_class} did not start")


def _get(port: int) -> tuple[bytes, int]:
    """One GET on a fresh connection: the whole answer, and how many TCP
    segments the client received for it."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
        info = client.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
        (segments,) = struct.unpack_from("I", info, _SEGS_IN_OFFSET)
    return answer, segments


@pytest.fixture
def served():
    processes = []

    def serve(worker_class: str, app: str = "small_answer") -> int:
        process, port = _serve(worker_class, app)
        processes.append(process)
        return port

    yield serve
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


def _parts(answer: bytes) -> tuple[list[bytes], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    # The Date header changes from one answer to the next.
    lines = [line for line in head.split(b"\r\n") if not line.startswith(b"Date:")]
    return lines, body


def test_a_small_answer_is_the_sync_workers_in_fewer_segments(served):
    corked = served("mithrapay.workers.CorkedSyncWorker")
    stock = served("sync")

    corked_answer, corked_segments = _get(corked)
    stock_answer, stock_segments = _get(stock)

    assert _parts(corked_answer) == _parts(stock_answer)
    assert _parts(corked_answer)[1] == b'{"ok": true}'
    # Status line, headers, body and the close leave together.
    assert corked_segments < stock_segments


def test_a_large_streamed_answer_arrives_whole_and_in_order(served):
    corked = served("mithrapay.workers.CorkedSyncWorker", app="large_answer")

    answer, _segments = _get(corked)

    _head, body = _parts(answer)
    assert body == b"".join(bytes([index]) * 4096 for index in range(50))


def test_production_serves_with_the_corked_worker(monkeypatch):
    monkeypatch.delenv("GUNICORN_WORKER_CLASS", raising=False)
    spec = importlib.util.spec_from_file_location(
        "gunicorn_conf", settings.BASE_DIR / "deploy" / "gunicorn.conf.py"
    )
    config = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(config)

    assert config.worker_class == "mithrapay.workers.CorkedSyncWorker"
