"""Rendering: one Jinja2 environment for the console's templates, with the request's language in every page."""

from pathlib import Path
from typing import Annotated, Any

from fastapi import Cookie, Depends, Header, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.order.console import i18n

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def present(items: Any, columns: list[str]) -> list[str]:
    """The columns at least one record has a value in (the rest are left out of a table)."""
    records = [i for i in items or [] if isinstance(i, dict)]
    return [c for c in columns if any(r.get(c) not in (None, "", []) for r in records)]


ENV.globals["present"] = present


def language(
    cookie: Annotated[str | None, Cookie(alias=i18n.COOKIE, max_length=8)] = None,
    accept: Annotated[str | None, Header(alias="accept-language", max_length=500)] = None,
) -> i18n.Formats:
    """The formats of the language this request is served in."""
    return i18n.formats_for(i18n.choose(cookie, accept))


Lang = Annotated[i18n.Formats, Depends(language)]


def render(request: Request, fmt: i18n.Formats, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A template as an HTML response (a whole page, or a fragment for htmx)."""
    html = ENV.get_template(name).render(request=request, f=fmt, t=fmt.t, path=request.url.path, **context)
    headers = {"Content-Language": fmt.html_lang, "Vary": "Cookie, Accept-Language"}
    return HTMLResponse(html, status_code=status_code, headers=headers)
