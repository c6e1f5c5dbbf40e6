"""The alert check runs on a hub with console users and dead deliveries: the console's
fixtures (a hub on both databases, with its sandbox platforms)."""

from tests.web.console.conftest import env, make_env, sqlite_env

__all__ = ["env", "make_env", "sqlite_env"]
