"""The console's pages under /console (Jinja2, no JavaScript), one router per area."""

from fastapi import APIRouter

from . import account, deliveries, entry, parks, review

router = APIRouter(include_in_schema=False)
for area in (account, parks, deliveries, entry, review):
    router.include_router(area.router)

__all__ = ["router"]
