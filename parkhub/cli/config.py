"""parkhub.yaml: a starter file and its database (`init`), validation (`check`) and the JSON
Schemas of the file and of each adapter's config block (`schema`)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.markup import escape

from parkhub.config import (
    HubConfig,
    PlatformConfig,
    SourceConfig,
    Subscription,
    config_json_schema,
    error_lines,
    platform_config,
    read_config,
    reference_problems,
    vendor_config,
)
from parkhub.errors import ConfigError
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
    """Validate parkhub.yaml: every problem at once (schedules, URLs, division codes, park
    references, each adapter's config and secrets); with --live, reach each enabled source
    and platform too (nothing is sent, no database is opened)."""
    cfg, problems = config_problems(config)
    for p in problems:
        err_console.print(f"{CONFIG_ERROR}{escape(p)}", highlight=False, soft_wrap=True)
    unreachable = live_problems(cfg) if cfg is not None and not problems and live else []
    for p in unreachable:
        err_console.print(f"{UNREACHABLE}{escape(p)}", highlight=False, soft_wrap=True)
    if problems or unreachable:
        err_console.print(f"[red]{len(problems) + len(unreachable)} problem(s)[/]")
        raise typer.Exit(2)
    assert cfg is not None
    for w in config_warnings(cfg):
        err_console.print(f"[yellow]warning:[/] {escape(w)}", highlight=False)
    console.print(
        f"[green]ok[/]: {len(cfg.parks)} parks, {len(cfg.sources)} sources, "
        f"{len(cfg.platforms)} platforms" + (", all reachable" if live else "")
    )


UNREACHABLE = "[red]连接失败 unreachable:[/] "


def config_problems(path: Path) -> tuple[HubConfig | None, list[str]]:
    """Every problem of parkhub.yaml at once: the file's own fields, every unknown or
    duplicate name, then each source's and platform's config (even when the file has
    problems elsewhere); the config when there are none."""
    try:
        data = read_config(path)
    except ConfigError as exc:
        return None, [str(exc)]
    config, problems = None, []
    try:
        config = HubConfig.model_validate(data)
    except ValidationError as exc:
        if isinstance(data, dict):  # the references are checked below, each on its own line
            exc_lines = [line for line in error_lines(exc) if not line.startswith("(root): ")]
            problems = [f"{path}: {line}" for line in exc_lines]
            problems += [f"{path}: {p}" for p in reference_problems(data)]
        else:
            problems = [f"{path}: {line}" for line in error_lines(exc)]
    problems += adapter_problems(data)
    return (config if not problems else None), problems


def adapter_problems(data: object) -> list[str]:
    """Each source's and platform's adapter config checked, whatever else is wrong with it."""
    data = data if isinstance(data, dict) else {}
    out = []
    for key, check in (("sources", _check_source), ("platforms", _check_platform)):
        for item in data.get(key) or []:
            if not isinstance(item, dict):
                continue
            try:
                check(item)
            except ConfigError as exc:
                text, kind = str(exc), key[:-1]
                out.append(text if text.startswith(kind) else f"{kind} {item.get('name')}: {text}")
    return out


def _check_source(item: dict[str, Any]) -> None:
    config: dict[str, Any] = item["config"] if isinstance(item.get("config"), dict) else {}
    vendor_config(SourceConfig.model_construct(
        name=str(item.get("name")), vendor=str(item.get("vendor")), park="", config=config
    ))  # fmt: skip


def _check_platform(item: dict[str, Any]) -> None:
    config: dict[str, Any] = item["config"] if isinstance(item.get("config"), dict) else {}
    raw: list[Any] = item["reports"] if isinstance(item.get("reports"), list) else []
    reports = [
        r if isinstance(r, str) else Subscription.model_construct(report=str(r.get("report")))
        for r in raw
        if isinstance(r, str | dict)
    ]
    platform_config(PlatformConfig.model_construct(
        name=str(item.get("name")), type=str(item.get("type")), config=config, reports=reports
    ))  # fmt: skip


def live_problems(cfg: HubConfig) -> list[str]:
    """What each enabled source's and platform's check() says: nothing is sent, no database
    opened. A check that fails in an unexpected way is reported too, with its kind."""
    from parkhub.ingest.sources import Sources
    from parkhub.scheduler.platforms import runtime

    problems = []
    sources = Sources(cfg)
    try:
        for source in (s for s in cfg.sources if s.enabled):
            check = partial(_check_adapter, sources, source.name)
            problems += _reach(f"source {source.name} ({source.vendor})", check)
    finally:
        sources.close()
    for pc in (p for p in cfg.platforms if p.enabled):
        platform = runtime(pc).platform
        try:
            problems += _reach(f"platform {pc.name} ({pc.type})", platform.check, pc.type)
        finally:
            platform.close()
    return problems


def _check_adapter(sources: Any, name: str) -> None:
    sources.adapter(name).check()


def _reach(where: str, check: Callable[[], None], name: str = "") -> list[str]:
    from parkhub.errors import DeliveryError, SourceError

    try:
        check()
    except (SourceError, DeliveryError, ConfigError) as exc:
        return [f"{where}: {str(exc).removeprefix(f'{name}: ')}"]
    except Exception as exc:  # a check that broke: still the operator's to read
        return [f"{where}: {type(exc).__name__}: {exc}"]
    return []


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
        str,
        typer.Argument(help="config, a vendor/platform adapter name, or rest.spec (a REST spec)"),
    ] = "config",
) -> None:
    """Print a JSON Schema (indented): parkhub.yaml, one adapter's config block, or a file an
    adapter reads (`rest.spec`: the REST vendor's spec)."""
    from parkhub.adapters.registry import platform_class, platform_names, vendor_class, vendor_names

    adapter, _, document = what.partition(".")
    if what == "config":
        out = config_json_schema()
    elif document and adapter in vendor_names() and document in vendor_class(adapter).documents:
        out = vendor_class(adapter).documents[document].model_json_schema()
    elif what in vendor_names():
        out = vendor_class(what).config_model.model_json_schema()
    elif what in platform_names():
        out = platform_class(what).config_model.model_json_schema()
    else:
        documents = [f"{v}.{d}" for v in vendor_names() for d in vendor_class(v).documents]
        names = ", ".join(
            ["config", *sorted(vendor_names()), *sorted(platform_names()), *sorted(documents)]
        )
        fail(f"unknown schema {what!r}; valid names: {names}", prefix="[red]error:[/] ")
    sys.stdout.write(render(out))
