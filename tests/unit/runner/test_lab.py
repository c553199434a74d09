"""`make lab` serves JupyterLab as the current user (root too): started on a free localhost
port with a token, it answers ``/api/kernelspecs`` with the ``python3`` kernel; its kernels
show figures inline and reload edited ``src/analysis`` modules."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from analysis.core import paths

ROOT = paths.ROOT
STARTUP_TIMEOUT_S = 45


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get_json(url: str, token: str) -> dict | None:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read().decode("utf-8"))
    except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
        return None


def _stop(proc: subprocess.Popen[str]) -> None:
    """Stop the server and everything it started (its own process group)."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def test_make_lab_serves_the_python3_kernel(tmp_path: Path):
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    port, token = _free_port(), secrets.token_hex(16)
    lab_args = (
        f"--no-browser --ip=127.0.0.1 --port={port} --ServerApp.port_retries=0 "
        f"--IdentityProvider.token={token}"
    )
    env = dict(os.environ)
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")  # no stray server files
    log = tmp_path / "lab.log"
    with log.open("w") as out:
        # -o: never reinstall the venv from here, whatever the stamp's age.
        proc = subprocess.Popen(
            [make, "-s", "-o", ".venv/.installed", "lab", f"LAB_ARGS={lab_args}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        specs = None
        while specs is None and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
            specs = _get_json(f"http://127.0.0.1:{port}/api/kernelspecs", token)
        text = log.read_text("utf-8", errors="replace")
        assert specs is not None, f"make lab did not answer within {STARTUP_TIMEOUT_S} s:\n{text}"
        assert "python3" in specs["kernelspecs"], specs
        assert _get_json(f"http://127.0.0.1:{port}/api/kernelspecs", "wrong") is None
    finally:
        _stop(proc)
    assert proc.poll() is not None


def _lab_command() -> str:
    proc = subprocess.run(
        ["make", "-s", "-n", "-o", ".venv/.installed", "lab", "LAB_ARGS=--port 1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


def test_lab_kernels_draw_inline_and_autoreload_the_package(tmp_path: Path):
    """The kernel environment `make lab` sets up: no forced Agg (even after importing
    ``analysis.figures``), autoreload on; ``--allow-root`` only for root; LAB_ARGS passed."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    from jupyter_client.manager import start_new_kernel

    command = _lab_command()
    assert "env -u MPLBACKEND" in command and "HUBSPOKE_LAB=1" in command
    assert "--port 1" in command and '"$(id -u)" -eq 0' in command
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    # A copy of lab/ipython: the kernel writes its history there, not into the repository.
    ipython_dir = shutil.copytree(ROOT / "lab" / "ipython", tmp_path / "ipython")
    env.update(IPYTHONDIR=str(ipython_dir), HUBSPOKE_LAB="1")
    code = (
        "import matplotlib, analysis.figures\n"
        "loaded = get_ipython().extension_manager.loaded\n"
        "print(matplotlib.get_backend(), 'IPython.extensions.autoreload' in loaded)"
    )
    manager, client = start_new_kernel(kernel_name="python3", env=env, startup_timeout=30)
    try:
        printed: list[str] = []
        reply = client.execute_interactive(
            code,
            timeout=30,
            output_hook=lambda msg: printed.append(msg["content"].get("text", "")),
        )
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert "".join(printed).split() == ["module://matplotlib_inline.backend_inline", "True"]
