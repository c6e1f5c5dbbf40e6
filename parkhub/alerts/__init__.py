"""Alerts where operators already are: each park's WeCom (企业微信) or DingTalk (钉钉) group robot
hears about deliveries that stopped retrying and deadlines at risk or late, once per problem."""

from .check import AlertResult, Alerts, compose
from .robots import AlertError, DingTalkRobot, WeComRobot, dingtalk_sign, redact

__all__ = [
    "AlertError",
    "AlertResult",
    "Alerts",
    "DingTalkRobot",
    "WeComRobot",
    "compose",
    "dingtalk_sign",
    "redact",
]
