"""Administration pages: users, agencies, areas and working-calendar exceptions.

Forms post back to their own page. A broken rule re-renders the form with the message and
status 400, so everything works without JavaScript; list pages answer HTMX requests with
their table alone, which is what search-as-you-type swaps in. Every change goes through
the unit of work, so the audit hooks record it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cityops.kernel.permissions import PermissionDenied
from cityops.web.views.admin import agencies, areas, users, working_calendar
from cityops.web.views.admin.shared import render_page
from cityops.web.views.common import PagePrincipal

ADMIN_PERMISSIONS = ("users.manage", "agencies.manage", "areas.manage", "calendar.manage")

router = APIRouter(prefix="/admin", include_in_schema=False)


@router.get("")
def admin_index(request: Request, principal: PagePrincipal) -> Response:
    if not any(principal.can(p) for p in ADMIN_PERMISSIONS):
        raise PermissionDenied("an administration permission is required")
    return render_page(request, "admin/index.html")


for section in (users, agencies, areas, working_calendar):
    router.include_router(section.router)
