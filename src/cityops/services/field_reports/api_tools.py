"""Staff helpers under /api/v1/field-reports: response templates, photo moderation, bans."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import or_, select

from cityops.kernel.errors import Invalid
from cityops.kernel.permissions import Principal
from cityops.services.field_reports import staff_tools
from cityops.services.field_reports.models import Category, ResponseTemplate
from cityops.services.field_reports.schemas import (
    BanIn,
    BanOut,
    MediaModerateIn,
    TemplateOut,
)
from cityops.services.field_reports.vocab import STATES
from cityops.web.deps import Ctx, Uow, require

router = APIRouter(prefix="/api/v1/field-reports", tags=["field reports"])
Reader = Annotated[Principal, Depends(require("field_reports.read"))]
Moderator = Annotated[Principal, Depends(require("field_reports.moderate"))]


@router.get("/templates", response_model=list[TemplateOut])
def templates(uow: Uow, principal: Reader,
              state: Annotated[str | None, Query(max_length=16)] = None,
              category: Annotated[str | None, Query(max_length=40)] = None
              ) -> list[TemplateOut]:
    """Canned public updates for a state (and category-specific ones for ``category``)."""
    stmt = select(ResponseTemplate).where(ResponseTemplate.active.is_(True))
    if state:
        if state not in STATES:
            raise Invalid(f"state must be one of: {', '.join(STATES)}")
        stmt = stmt.where(ResponseTemplate.state == state)
    if category:
        stmt = stmt.where(or_(ResponseTemplate.category_id.is_(None),
                              ResponseTemplate.category_id.in_(
                                  select(Category.id).where(Category.code == category))))
    else:
        stmt = stmt.where(ResponseTemplate.category_id.is_(None))
    codes = {cid: code for cid, code in uow.session.execute(select(Category.id, Category.code))}
    return [TemplateOut(id=t.id, state=t.state, title=t.title, text_vi=t.text_vi,
                        text_en=t.text_en, category=codes.get(t.category_id))
            for t in uow.session.scalars(stmt.order_by(ResponseTemplate.state,
                                                       ResponseTemplate.id))]


@router.post("/media/{media_id}/moderate")
def moderate_media(media_id: int, body: MediaModerateIn, uow: Uow, ctx: Ctx,
                   principal: Moderator) -> dict[str, object]:
    """Hide a photo from the public, or serve only its redacted copy; history is kept."""
    media = staff_tools.moderate_media(uow, media_id, now=ctx.clock(), reason=body.reason,
                                       hidden=body.hidden, redacted=body.redacted)
    uow.commit()
    return {"id": media.id, "hidden": media.hidden, "redacted": media.redacted}


@router.post("/bans", response_model=BanOut, status_code=201)
def add_ban(body: BanIn, uow: Uow, principal: Moderator) -> BanOut:
    """Refuse further reports from a phone number, e-mail address or client address."""
    ban = staff_tools.add_ban(uow, body.kind, body.value, body.reason, until=body.until)
    uow.commit()
    # The banned value itself is not echoed back: it is personal data.
    return BanOut(id=ban.id, kind=ban.kind, reason=ban.reason, until=ban.until,
                  created_by=ban.created_by)
