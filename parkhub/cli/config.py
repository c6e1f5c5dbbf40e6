"""parkhub.yaml: a starter file and its database (`init`), validation (`check`) and the JSON
Schemas of the file and of each adapter's config block (`schema`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from parkhub.config import HubConfig, config_json_schema, config_problems
from parkhub.store import database_url

from .root import (
    CONFIG_ERROR,
    DEFAULT_CONFIG,
    ConfigOpt,
    announce_database,
    config_of,
    console,
    err_console,
    fail,
    hub_of,
)
from .sandbox import BASE_PORT, SECRETS_FILE, BasePortOpt, sandbox_files, write_sample_capture
from .schemas import render

SAMPLE_CONFIG = """\
# parkhub.yaml — one file for parks, sources, platforms and schedules.
# Secrets are never written here: use env:NAME (environment) or file:NAME (PARKHUB_SECRETS_FILE).
# JSON Schema: `parkhub schema` (editors can validate this file with it).
database_url: sqlite:///var/parkhub.db   # relative to this file; or postgresql://user@host/db
                                         # (PARKHUB_DATABASE_URL wins)

parks:
  - id: wz-lc-0001
    name: 鹿城智造小微企业园
    division_code: "330302"      # GB/T 2260 鹿城区; keep the quotes (a code is text)
    land_area_m2: 86000
    floor_area_m2: 152000

sources:
  - name: qisheng-lc
    vendor: qisheng
    park: wz-lc-0001
    schedule: {every_seconds: 300}
    config:
      base_url: https://qisheng.example.com
      app_id: YOUR_APP_ID
      app_secret: env:QISHENG_APP_SECRET

platforms:
  - name: provincial
    type: provincial
    config:
      base_url: https://provincial.example.com
      app_key: YOUR_APP_KEY
      app_secret: env:PROVINCIAL_APP_SECRET
    reports: [park_monthly, enterprise_roster]
    retry: {max_attempts: 10, base_seconds: 30, max_backoff_seconds: 3600}

dispatch:
  schedule: {every_seconds: 5}
reports:
  monthly: {cron: "0 1 1 * *"}   # 01:00 on the 1st, Beijing time: build last month's reports
"""


def init(
    config: ConfigOpt = DEFAULT_CONFIG,
    force: Annotated[bool, typer.Option(help="overwrite an existing file")] = False,
    sandbox: Annotated[
        bool,
        typer.Option(
            "--sandbox",
            help="point the config at the loopback simulators of `parkhub sandbox` (try "
            "parkhub with no real system)",
        ),
    ] = False,
    base_port: BasePortOpt = BASE_PORT,
) -> None:
    """Write a starter parkhub.yaml (if missing) and create or upgrade its database."""
    if config.exists() and not force:
        console.print(f"{config} exists; keeping it (--force to overwrite)")
    elif sandbox:
        text, secrets = sandbox_files(base_port)
        config.write_text(text, encoding="utf-8")
        secrets_path = config.resolve().parent / SECRETS_FILE
        secrets_path.write_text(secrets, encoding="utf-8")
        secrets_path.chmod(0o600)
        sample = write_sample_capture(config.resolve().parent)
        console.print(
            f"wrote {config} and {SECRETS_FILE} for the simulators of "
            f"`parkhub sandbox --base-port {base_port}`, and an HJ 212 capture {sample}"
        )
    else:
        config.write_text(SAMPLE_CONFIG, encoding="utf-8")
        console.print(
            f"wrote {config}: edit parks, sources and platforms (hosts and secrets are "
            "placeholders), then `parkhub check`; or try `parkhub init --sandbox --force`"
        )
    from parkhub.store import Store

    cfg = config_of(config, secrets=False)
    url = database_url(cfg.database_url)
    announce_database(url)
    Store.open(url).close()
    console.print("database ready")


def check(
    config: ConfigOpt = DEFAULT_CONFIG,
    live: Annotated[
        bool,
        typer.Option("--live", help="also reach every enabled source and platform (their check())"),
    ] = False,
) -> None:
    """Validate parkhub.yaml: every problem at once (schedules, URLs, division codes, each
    adapter's config and secrets); with --live, reach each source and platform too."""
    cfg, problems = config_problems(config)
    if cfg is not None and not problems and live:
        problems = live_problems(config)
    for p in problems:
        err_console.print(f"{CONFIG_ERROR}{p}", highlight=False, soft_wrap=True)
    if problems:
        err_console.print(f"[red]{len(problems)} problem(s)[/]")
        raise typer.Exit(2)
    assert cfg is not None
    for w in config_warnings(cfg):
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False)
    console.print(
        f"[green]ok[/]: {len(cfg.parks)} parks, {len(cfg.sources)} sources, "
        f"{len(cfg.platforms)} platforms" + (", all reachable" if live else "")
    )


def live_problems(config: Path) -> list[str]:
    """What each enabled source's and platform's check() says (nothing is sent)."""
    problems = []
    with hub_of(config) as hub:
        for source in hub.config.sources:
            if not source.enabled:
                continue
            try:
                hub.adapter(source.name).check()
            except Exception as exc:  # any failure of a check is the operator's to read
                problems.append(f"source {source.name}: {exc}")
        for name, runtime in hub.platforms().items():
            try:
                runtime.platform.check()
            except Exception as exc:
                problems.append(f"platform {name}: {exc}")
    return problems


def config_warnings(cfg: HubConfig) -> list[str]:
    """What is valid but likely wrong: a park the provincial platform will not know."""
    out = []
    for park in cfg.parks:
        if not park.division_code.startswith("33"):
            out.append(
                f"park {park.id}: division_code {park.division_code} is not in Zhejiang (33xxxx): "
                "the provincial platform refuses it"
            )
    return out


def schema(
    what: Annotated[
        str, typer.Argument(help="config, or a vendor/platform adapter name")
    ] = "config",
) -> None:
    """Print a JSON Schema (indented): parkhub.yaml, or one adapter's config block."""
    from parkhub.adapters.registry import platform_class, platform_names, vendor_class, vendor_names

    if what == "config":
        out = config_json_schema()
    elif what in vendor_names():
        out = vendor_class(what).config_model.model_json_schema()
    elif what in platform_names():
        out = platform_class(what).config_model.model_json_schema()
    else:
        names = ", ".join(["config", *sorted(vendor_names()), *sorted(platform_names())])
        fail(f"unknown schema {what!r}; valid names: {names}", prefix="[red]error:[/] ")
    sys.stdout.write(render(out))
