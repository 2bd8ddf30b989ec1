"""Signing in to the console: the bearer token every Gendan service checks, kept by the browser in an HttpOnly
cookie (the guard in shared/auth reads it, and refuses changes from another site's page).

In development the sign-in page mints the token from the system's development issuer (AUTH_DEV_ISSUER names
its folder); in production that setting is absent and people sign in through the firm's OIDC issuer, whose
token the same cookie carries.
"""

import os
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request, status
from fastapi.responses import RedirectResponse, Response

from services.order.console.pages import Lang, render
from shared.auth import SESSION_COOKIE, AccessRole

sign_in = APIRouter(prefix="/console", include_in_schema=False)
LOGIN = "/console/login"
HOURS = 12


def dev_issuer() -> Path | None:
    """The development issuer's folder, where this process may mint tokens (never in production)."""
    folder = os.environ.get("AUTH_DEV_ISSUER", "")
    if not folder or os.environ.get("GENDAN_ENV") == "production":
        return None
    return Path(folder)


def _local(back: str) -> str:
    return back if back.startswith("/console") and not back.startswith("//") else "/console/orders"


@sign_in.get("/login")
async def login_page(
    request: Request, fmt: Lang, back: Annotated[str, Query(max_length=2000)] = "/console/orders"
) -> Response:
    roles = [r.value for r in AccessRole]
    return render(request, fmt, "login.html", dev=dev_issuer() is not None, back=_local(back), roles=roles)


@sign_in.post("/login")
async def login(
    name: Annotated[str, Form(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._@-]+$")],
    role: Annotated[AccessRole, Form()],
    back: Annotated[str, Form(max_length=2000)] = "/console/orders",
) -> Response:
    folder = dev_issuer()
    if folder is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "sign in through your company's sign-in page")
    from deploy.dev_issuer import DevIssuer  # development only: the issuer's key lives beside the system

    token = DevIssuer(folder).token(name, [role.value], ttl_seconds=HOURS * 3600)
    answer = RedirectResponse(_local(back), status.HTTP_303_SEE_OTHER)
    secure = os.environ.get("GENDAN_ENV") == "production"
    answer.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=secure, max_age=HOURS * 3600)
    return answer


@sign_in.post("/logout")
async def logout() -> Response:
    answer = RedirectResponse(LOGIN, status.HTTP_303_SEE_OTHER)
    answer.delete_cookie(SESSION_COOKIE)
    return answer
