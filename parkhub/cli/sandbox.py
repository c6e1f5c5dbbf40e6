"""Try parkhub without any real system: `parkhub sandbox` runs the loopback simulators of every
vendor and platform on fixed ports, and `parkhub init --sandbox` writes a parkhub.yaml (and a
sandbox-only secrets file) pointing at them, so every command of the README works as written."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from .root import console

BASE_PORT = 18300
SIMULATORS = ("qisheng", "provincial", "econ", "safety", "fire", "stats", "ecology")
"""Each on BASE_PORT + 1, + 2, ...; the HJ 212 listener of `parkhub run` takes the next."""
BasePortOpt = Annotated[
    int,
    typer.Option(
        min=1024, max=65000, help="the simulators listen on this port + 1 .. + 8 (127.0.0.1)"
    ),
]
SECRETS_FILE = "parkhub.secrets"


def ports(base: int) -> dict[str, int]:
    return {name: base + n for n, name in enumerate(SIMULATORS, start=1)}


def sandbox_files(base: int) -> tuple[str, str]:
    """parkhub.yaml and its secrets file, pointing at `parkhub sandbox --base-port base`."""
    from parkhub.demo import DEMO_SECRETS, demo_config_data

    at = ports(base)
    urls = {name: f"http://127.0.0.1:{port}" for name, port in at.items()}
    urls["ecology"] = f"tcp://127.0.0.1:{at['ecology']}"
    data = demo_config_data(
        urls, "sqlite:///var/parkhub.db", Path("var/stats-export"), hj212_port=base + 8
    )
    data = _file_secrets(data)
    data["secrets_file"] = SECRETS_FILE
    data["dispatch"] = {"schedule": {"every_seconds": 5}}
    head = (
        "# parkhub.yaml for the sandbox: every source and platform is a simulator on 127.0.0.1,\n"
        f"# run by `parkhub sandbox --base-port {base}`. Secrets are in {SECRETS_FILE}\n"
        "# (sandbox-only values the simulators know). Edit freely; `parkhub check --live`.\n"
    )
    body = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    secrets = "# sandbox-only credentials, known to the loopback simulators\n" + "".join(
        f"{name}={value}\n" for name, value in DEMO_SECRETS.items()
    )
    return head + body, secrets


def _file_secrets(value: Any) -> Any:
    """The demo's env:NAME secrets as file:NAME (read from the secrets file beside the config)."""
    if isinstance(value, dict):
        return {k: _file_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_file_secrets(v) for v in value]
    if isinstance(value, str) and value.startswith("env:PARKHUB_DEMO_"):
        return "file:" + value.removeprefix("env:")
    return value


def write_sample_capture(folder: Path) -> Path:
    """An HJ 212 logger capture for `parkhub hj212 decode`: two hours of wastewater data."""
    from parkhub.canonical.timeutil import previous_period
    from parkhub.demo import logger_frames
    from parkhub.protocols.hj212.codec import encode_frame

    path = folder / "var" / "hj212-sample.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(encode_frame(f) for f in logger_frames(previous_period())))
    return path


def sandbox(base_port: BasePortOpt = BASE_PORT) -> None:
    """Run the loopback simulators of every vendor and platform until Ctrl-C, for a config
    written by `parkhub init --sandbox`."""
    from parkhub.canonical.timeutil import previous_period
    from parkhub.demo import Sandbox

    at = ports(base_port)
    sims = Sandbox(previous_period(), ports=at)
    try:
        sims.start()
    except OSError as exc:
        raise typer.BadParameter(
            f"端口被占用 (a port is taken: {exc}); is `parkhub sandbox` already running? "
            "Or use --base-port"
        ) from None
    for name, port in at.items():
        console.print(f"{name:<11} 127.0.0.1:{port}")
    console.print("simulators running; Ctrl-C to stop")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        sims.stop()
