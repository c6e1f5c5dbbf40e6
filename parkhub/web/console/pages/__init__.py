"""The console's pages under /console (Jinja2; JavaScript only for the report page's charts),
one router per area."""

from fastapi import APIRouter

from . import account, deliveries, enterprises, entry, ledger, parks, reports, review

router = APIRouter(include_in_schema=False)
for area in (account, parks, reports, enterprises, ledger, deliveries, entry, review):
    router.include_router(area.router)

__all__ = ["router"]
