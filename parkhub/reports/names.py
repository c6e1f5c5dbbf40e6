"""The names operators use: platforms as 省小微园平台, 经信, 应急管理, 消防, 统计, 生态环境;
reports as 园区月报, 入园企业名录 ...; a payload's fields by the `label`s of its mapping spec.
Read from the config and the platform classes: no secret is needed."""

from __future__ import annotations

from functools import cache

from parkhub.adapters.registry import platform_class
from parkhub.config import HubConfig, PlatformConfig
from parkhub.mappings import load_mapping

KIND_TITLES = {
    "park": "园区",
    "enterprise": "企业名录",
    "enterprise_monthly": "企业月度数据",
    "park_monthly": "园区月报",
    "measurement": "计量读数",
    "event": "事件告警",
    "device": "设备",
    "environmental_data": "环境监测数据",
}
"""Record kinds as operators call them."""


def _platform(config: HubConfig, name: str) -> PlatformConfig | None:
    return next((p for p in config.platforms if p.name == name), None)


def platform_title(config: HubConfig, name: str) -> str:
    """The platform as operators call it: its type's title (省小微园平台), with the configured
    name when two platforms share a type; the name itself when unknown."""
    pc = _platform(config, name)
    if pc is None:
        return name
    try:
        title = platform_class(pc.type).title
    except Exception:  # a platform whose plugin is gone: its name is all we have
        return name
    if not title:
        return name
    twins = sum(1 for p in config.platforms if p.type == pc.type)
    return f"{title}（{name}）" if twins > 1 else title


def report_title(config: HubConfig, platform: str, report: str) -> str:
    """The report as operators call it (园区月报), else its description's Chinese, else its
    name."""
    pc = _platform(config, platform)
    if pc is None:
        return report
    try:
        spec = platform_class(pc.type).reports.get(report)
    except Exception:
        return report
    if spec is None:
        return report
    return spec.title or spec.description.split(" (")[0] or report


def kind_title(kind: str) -> str:
    return KIND_TITLES.get(kind, kind)


def field_labels(config: HubConfig, platform: str, report: str) -> dict[str, str]:
    """Payload field -> its Chinese label, from the report's mapping spec (spec order); empty
    when the platform or report is not configured any more."""
    pc = _platform(config, platform)
    if pc is None:
        return {}
    try:
        spec = platform_class(pc.type).reports.get(report)
    except Exception:
        return {}
    return dict(_labels(spec.mapping)) if spec is not None else {}


@cache
def _labels(mapping: str) -> tuple[tuple[str, str], ...]:
    return tuple(load_mapping(mapping).labels().items())


def platform_titles(config: HubConfig) -> dict[str, str]:
    """Every configured platform's title, by name."""
    return {pc.name: platform_title(config, pc.name) for pc in config.platforms}


def report_titles(config: HubConfig) -> dict[tuple[str, str], str]:
    """Every subscription's report title, by (platform, report)."""
    return {
        (pc.name, sub.report): report_title(config, pc.name, sub.report)
        for pc in config.platforms
        for sub in pc.subscriptions()
    }
