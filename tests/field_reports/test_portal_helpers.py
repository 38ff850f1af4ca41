"""Helpers for the portal, hotline and feed tests (a module: pytest collects no test here)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from test_routing_helpers import NOW, RURAL, new_report, uow_as

from cityops.kernel.context import AppContext
from cityops.services.field_reports import staff_tools, workflow

CHALLENGE = re.compile(r"(\d+) \+ (\d+)")
CHALLENGE_TOKEN = re.compile(r'name="challenge_token" value="([^"]+)"')
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
LATER = NOW + timedelta(hours=2)
OFFICER = f"ubnd-{RURAL}"  # the commune committee that handles rural garbage

# Strings planted in private fields: none may ever reach a public page or feed.
SECRET_NAME = "Nguyễn Bí Mật Zq"
SECRET_PHONE = "0912777888"
SECRET_EMAIL = "bimat.zq@example.vn"
SECRET_NOTE = "GHI-CHU-NOI-BO-ZQ"


@contextmanager
def open_portal_client(demo_ctx: AppContext, tmp_path: Path) -> Iterator[TestClient]:
    """The app with photos stored under a temporary media directory (each test module wraps
    it in its own ``portal_client`` fixture)."""
    from cityops.web.app import create_app

    demo_ctx.settings = demo_ctx.settings.model_copy(update={"media_dir": tmp_path / "media"})
    with TestClient(create_app(demo_ctx)) as client:
        yield client


def form_fields(html: str) -> dict[str, str]:
    """CSRF token, challenge token and the challenge's answer from the portal form."""
    a, b = CHALLENGE.search(html).groups()  # type: ignore[union-attr]
    return {"csrf_token": CSRF.search(html).group(1),  # type: ignore[union-attr]
            "challenge_token": CHALLENGE_TOKEN.search(html).group(1),  # type: ignore[union-attr]
            "challenge_answer": str(int(a) + int(b))}


def submit(client: TestClient, data: dict[str, Any],
           files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
           answer: str | None = None) -> Any:
    page = client.get("/phan-anh")
    fields = form_fields(page.text)
    if answer is not None:
        fields["challenge_answer"] = answer
    return client.post("/phan-anh", data={**fields, **data}, files=files or [],
                       follow_redirects=False)


def resolved_and_published(ctx: AppContext, **fields: Any) -> int:
    """A rural garbage report taken through to a published result; returns its id."""
    values: dict[str, Any] = {"contact_email": SECRET_EMAIL, "contact_phone": SECRET_PHONE,
                              "contact_name": SECRET_NAME, "channel": "portal"}
    values.update(fields)
    rid = new_report(ctx, category="garbage", area=RURAL, **values).id
    with uow_as(ctx, "operator") as uow:
        workflow.transition(uow, rid, "verified", now=LATER)
        workflow.assign(uow, rid, now=LATER)
        uow.commit()
    with uow_as(ctx, OFFICER) as uow:
        staff_tools.add_note(uow, rid, SECRET_NOTE, public=False, now=LATER)
        workflow.transition(uow, rid, "in_progress", now=LATER)
        workflow.transition(uow, rid, "resolved", now=LATER, reason="Đã thu gom rác sạch sẽ")
        uow.commit()
    with uow_as(ctx, "operator") as uow:
        staff_tools.approve_result(uow, rid, now=LATER)
        uow.commit()
    return rid
