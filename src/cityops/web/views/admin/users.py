"""User accounts: list and search, create, edit roles/agency/activity, reset passwords."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from cityops.kernel.auth import MIN_PASSWORD_LENGTH, User, hash_password, set_password
from cityops.kernel.orgs import Agency
from cityops.kernel.permissions import PROVINCE_WIDE_ROLES, ROLES, permission_registry
from cityops.kernel.text import fold
from cityops.kernel.uow import UnitOfWork
from cityops.web import i18n
from cityops.web.deps import Uow
from cityops.web.i18n import gettext as _
from cityops.web.views.admin.shared import (
    CSRF,
    PAGE_SIZE,
    UsersAdmin,
    agency_choices,
    check_email,
    commit_unique,
    done,
    get_or_404,
    int_or_none,
    list_page,
    make_pager,
    render_page,
)

router = APIRouter(prefix="/users")
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


class UserFields(BaseModel):
    username: str = ""
    full_name: str = ""
    email: str = ""
    agency_id: str = ""
    roles: list[str] = []
    is_active: bool = False  # an unticked checkbox is simply absent
    password: str = ""

    @classmethod
    def of(cls, user: User) -> UserFields:
        return cls(username=user.username, full_name=user.full_name, email=user.email,
                   agency_id=str(user.agency_id or ""), roles=sorted(user.roles),
                   is_active=user.is_active)


def role_choices() -> list[tuple[str, str]]:
    english = i18n.current_language.get() == "en"
    return [(key, en if english else vi) for key, (vi, en) in ROLES.items()]


def _form(request: Request, uow: UnitOfWork, user: User | None, fields: UserFields,
          errors: list[str] | None = None, status_code: int = 200) -> Response:
    return render_page(request, "admin/user_form.html", status_code=status_code, edited=user,
                       form=fields, errors=errors or [], agencies=agency_choices(uow),
                       role_choices=role_choices(), min_password=MIN_PASSWORD_LENGTH)


def _check_profile(uow: UnitOfWork, fields: UserFields, errors: list[str]) -> Agency | None:
    full_name = fields.full_name.strip()
    if not full_name or len(full_name) > 200:
        errors.append(_("Enter the full name (at most 200 characters)."))
    check_email(fields.email.strip(), errors)
    agency = None
    if fields.agency_id.strip():
        agency_id = int_or_none(fields.agency_id)
        agency = uow.session.get(Agency, agency_id) if agency_id else None
        if agency is None:
            errors.append(_("Choose an agency from the list."))
    roles = set(fields.roles)
    if roles - set(ROLES):
        errors.append(_("Choose roles from the list."))
    elif not roles:
        errors.append(_("Choose at least one role."))
    scoped = sorted(roles & set(ROLES) - PROVINCE_WIDE_ROLES)
    if scoped and not fields.agency_id.strip():  # they would see nothing at all
        labels = dict(role_choices())
        errors.append(_("The role %(role)s works within an agency; choose one.")
                      % {"role": labels[scoped[0]]})
    return agency


def _check_password(password: str, errors: list[str]) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        errors.append(_("The password needs at least %(count)s characters.")
                      % {"count": MIN_PASSWORD_LENGTH})


@router.get("")
def list_users(request: Request, uow: Uow, _p: UsersAdmin, q: str = "", agency: str = "",
               page: int = 1) -> Response:
    stmt = select(User).options(selectinload(User.agency)).order_by(User.username)
    agency_id = int_or_none(agency)
    if agency_id:
        stmt = stmt.where(User.agency_id == agency_id)
    users = list(uow.session.scalars(stmt))
    key = fold(q)
    if key:  # full names carry diacritics and have no search column: fold them here
        users = [u for u in users if key in fold(u.full_name) or key in u.username
                 or key in u.email.lower()]
    pager = make_pager(page, len(users), {"q": q, "agency": agency})
    start = (pager.page - 1) * PAGE_SIZE
    return list_page(request, "admin/users.html", "admin/_users_table.html",
                     users=users[start:start + PAGE_SIZE], pager=pager, q=q,
                     agency_filter=agency_id, agencies=agency_choices(uow),
                     role_labels=dict(role_choices()))


@router.get("/new")
def new_user(request: Request, uow: Uow, _p: UsersAdmin) -> Response:
    return _form(request, uow, None, UserFields(is_active=True))


@router.post("", dependencies=CSRF)
def create_user(request: Request, uow: Uow, _p: UsersAdmin,
                fields: Annotated[UserFields, Form()]) -> Response:
    errors: list[str] = []
    username = fields.username.strip().lower()
    taken = _("The username %(username)s is already taken.") % {"username": username}
    if not USERNAME_RE.match(username):
        errors.append(_("The username needs 2–64 characters: lower-case letters, digits, "
                        "dot, dash or underscore."))
    elif uow.session.scalar(select(User.id).where(User.username == username)):
        errors.append(taken)
    agency = _check_profile(uow, fields, errors)
    _check_password(fields.password, errors)
    if errors:
        return _form(request, uow, None, fields, errors, 400)
    user = User(username=username, full_name=fields.full_name.strip(),
                email=fields.email.strip(), agency_id=agency.id if agency else None,
                password_hash=hash_password(fields.password))
    user.set_roles(set(fields.roles))
    uow.session.add(user)
    if not commit_unique(uow):
        return _form(request, uow, None, fields, [taken], 400)
    return done(request, _("User %(username)s created.") % {"username": username},
                f"/admin/users/{user.id}")


@router.get("/{user_id}")
def edit_user(request: Request, uow: Uow, _p: UsersAdmin, user_id: int) -> Response:
    user = get_or_404(uow, User, user_id)
    return _form(request, uow, user, UserFields.of(user))


@router.post("/{user_id}", dependencies=CSRF)
def update_user(request: Request, uow: Uow, principal: UsersAdmin, user_id: int,
                fields: Annotated[UserFields, Form()]) -> Response:
    user = get_or_404(uow, User, user_id)
    errors: list[str] = []
    agency = _check_profile(uow, fields, errors)
    if user.id == principal.user_id:  # nobody may lock themselves out of administration
        if not fields.is_active:
            errors.append(_("You cannot deactivate your own account."))
        if "users.manage" not in permission_registry.permissions_for(fields.roles):
            errors.append(_("You cannot take away your own right to manage users."))
    if errors:
        return _form(request, uow, user, fields, errors, 400)
    if user.is_active and not fields.is_active:
        user.token_version += 1  # bearer tokens issued to the account stop working
    user.full_name = fields.full_name.strip()
    user.email = fields.email.strip()
    user.agency_id = agency.id if agency else None
    user.is_active = fields.is_active
    user.set_roles(set(fields.roles))
    uow.commit()
    return done(request, _("Changes to %(username)s saved.") % {"username": user.username},
                f"/admin/users/{user.id}")


@router.post("/{user_id}/password", dependencies=CSRF)
def reset_password(request: Request, uow: Uow, principal: UsersAdmin, user_id: int,
                   password: Annotated[str, Form()] = "") -> Response:
    user = get_or_404(uow, User, user_id)
    errors: list[str] = []
    _check_password(password, errors)
    if errors:
        return _form(request, uow, user, UserFields.of(user), errors, 400)
    set_password(user, password)
    uow.commit()
    if user.id == principal.user_id:  # keep the admin's own browser session signed in
        request.session["v"] = user.token_version
    return done(request, _("New password set for %(username)s.") % {"username": user.username},
                f"/admin/users/{user.id}")
