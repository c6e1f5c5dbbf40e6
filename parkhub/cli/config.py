"""parkhub.yaml: a starter file and its database (`init`), validation (`check`) and the JSON
Schemas of the file and of each adapter's config block (`schema`)."""

from __future__ import annotations

from typing import Annotated

import typer

from parkhub.config import config_json_schema
from parkhub.errors import ParkhubError

from .root import CONFIG_ERROR, DEFAULT_CONFIG, ConfigOpt, config_of, console, fail, print_json

SAMPLE_CONFIG = """\
# parkhub.yaml — one file for parks, sources, platforms and schedules.
# Secrets are never written here: use env:NAME (environment) or file:NAME (PARKHUB_SECRETS_FILE).
# JSON Schema: `parkhub schema` (editors can validate this file with it).
database_url: sqlite:///var/parkhub.db   # or postgresql://user@host/db; PARKHUB_DATABASE_URL wins

parks:
  - id: wz-lc-0001
    name: 鹿城智造小微企业园
    division_code: "330302"      # GB/T 2260 鹿城区
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
) -> None:
    """Write a starter parkhub.yaml (if missing) and create or upgrade the database."""
    if config.exists() and not force:
        console.print(f"{config} exists; keeping it")
    else:
        config.write_text(SAMPLE_CONFIG, encoding="utf-8")
        console.print(f"wrote {config}: edit parks, sources and platforms, then `parkhub sync`")
    import yaml

    from parkhub.config import parse_config
    from parkhub.store import Store, database_url

    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    try:
        cfg = parse_config(data, origin=str(config), check_adapters=False)
    except ParkhubError as exc:
        fail(exc, prefix=CONFIG_ERROR)
    url = database_url(cfg.database_url)
    Store.open(url).close()
    console.print(f"database ready: {url.split('@')[-1]}")


def check(config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Validate parkhub.yaml and every adapter's config (secrets resolved, never printed)."""
    cfg = config_of(config)
    console.print(
        f"[green]ok[/]: {len(cfg.parks)} parks, {len(cfg.sources)} sources, "
        f"{len(cfg.platforms)} platforms"
    )


def schema(
    what: Annotated[
        str,
        typer.Argument(help="config, a vendor/platform adapter name, or rest.spec (a REST spec)"),
    ] = "config",
) -> None:
    """Print a JSON Schema: parkhub.yaml, one adapter's config block, or a file an adapter reads
    (`rest.spec`: the REST vendor's spec)."""
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
        fail(f"unknown schema {what!r}", prefix="")
    print_json(out)
