"""The console of one app: its hub, sign-in and templates, and the park checks every route makes
(an operator sees only their parks; a delivery is looked up by its own park)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from parkhub.config import ParkConfig
from parkhub.errors import ConfigError
from parkhub.hub import Hub
from parkhub.reports.names import platform_title, report_title
from parkhub.store import Session, User

from .auth import Auth, Denied
from .render import NOTICES, SECURITY_HEADERS, templates


class Console:
    """The console on one app (`mount_console` makes it): what its routes reach through
    `ConsoleDep`."""

    def __init__(self, hub: Hub, auth: Auth) -> None:
        self.hub = hub
        self.accounts = hub.store.accounts
        self.auth = auth
        self.templates = templates()
        config = hub.config
        env = self.templates.env
        env.globals["platform_name"] = lambda name: platform_title(config, name)
        env.globals["report_name"] = lambda platform, report: report_title(config, platform, report)

    # -- parks the user may see ---------------------------------------------------------------

    def park(self, user: User, park_id: str) -> ParkConfig:
        """The park, if it exists and `user` may see it (404 / 403 otherwise)."""
        try:
            park = self.hub.config.park(park_id)
        except ConfigError:
            raise Denied(404, "没有这个园区", f"no park {park_id!r}") from None
        if not user.can_see(park_id):
            raise Denied(403, "您没有这个园区的权限", f"no access to park {park_id!r}")
        return park

    def delivery(self, delivery_id: int) -> dict[str, Any] | None:
        found = self.hub.store.outbox.deliveries(ids=[delivery_id], limit=1)
        return found[0] if found else None

    def park_delivery(self, user: User, park_id: str, delivery_id: int) -> dict[str, Any]:
        """A delivery of a park `user` may see, looked up by its own park (404 otherwise)."""
        self.park(user, park_id)
        row = self.delivery(delivery_id)
        if row is None or row["park_id"] != park_id:
            raise Denied(404, "没有这条投递记录", f"no delivery {delivery_id} in this park")
        return row

    def visible_parks(self, user: User) -> list[ParkConfig]:
        return [p for p in self.hub.config.parks if user.can_see(p.id)]

    # -- responses ----------------------------------------------------------------------------

    def render(
        self,
        request: Request,
        name: str,
        context: dict[str, Any],
        *,
        session: Session | None = None,
        status_code: int = 200,
    ) -> HTMLResponse:
        """A page: the template with the signed-in user, their parks, the CSRF token and the
        notice of a `?msg=`, sent with the security headers."""
        ctx = {
            "session": session,
            "user": session.user if session else None,
            "csrf_token": session.csrf_token if session else "",
            "parks": self.visible_parks(session.user) if session else [],
            "notice": notice(request),
            **context,
        }
        return self.templates.TemplateResponse(
            request, name, ctx, status_code=status_code, headers=SECURITY_HEADERS
        )

    @staticmethod
    def redirect(url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})

    def audit(self, actor: str, action: str, detail: dict[str, Any]) -> None:
        with self.hub.store.begin() as conn:
            self.hub.store.audit.add(conn, actor, action, detail)


def notice(request: Request) -> str | None:
    """What a page says after a redirect with `?msg=<key>` (and `n=<count>` where it counts)."""
    text = NOTICES.get(request.query_params.get("msg", ""))
    if text is None or "{n}" not in text:
        return text
    n = request.query_params.get("n", "")
    return text.format(n=n if n.isdigit() else "?")


def console_of(request: Request) -> Console:
    """The console mounted on the request's app."""
    console = request.app.state.console
    assert isinstance(console, Console)
    return console


ConsoleDep = Annotated[Console, Depends(console_of)]
