"""Administration pages: users, agencies, areas, calendar exceptions."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from cityops.web.templating import render
from cityops.web.views.common import page_requires

router = APIRouter(prefix="/admin", include_in_schema=False)


@router.get("")
def admin_index(request: Request, _=Depends(page_requires("users.manage"))) -> Response:
    return render(request, "admin/index.html")
