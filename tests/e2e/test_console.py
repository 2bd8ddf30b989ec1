"""The merchandiser's console in a real headless Chromium against the running system: the tracking table fills and
follows an order live (server-sent events, no reload), an exception appears on the board and is assigned and
resolved there with the keyboard, an order's page shows its timeline and opens its order confirmation PDF, the
customer's link shows milestones and refuses a tampered or expired signature, and the language switch relabels.

The console is served by the order service; each browser signs in through the development sign-in page."""

import asyncio
import io
import os
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect
from pypdf import PdfReader

from deploy.system import System
from services.order.console import assets, links
from services.order.console.settings import DEVELOPMENT_SECRET
from tests.e2e.flows import order_body, post_orders

pytestmark = pytest.mark.e2e
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
WAIT = 60_000  # ms: how long the page may take to show what the system did


async def _answers(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.3)
    raise TimeoutError(f"{url} does not answer")


@pytest.fixture(scope="module")
async def console(shared_system: System) -> AsyncIterator[str]:
    """Where the console answers: the order service itself (its assets built first, as `make install` does)."""
    await asyncio.to_thread(assets.build)
    yield shared_system.url("order")


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        found = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield found
        await found.close()


async def sign_in(context: BrowserContext, console: str, name: str = "li.wei") -> None:
    """The development sign-in: a merchandiser's token, kept by the browser in an HttpOnly cookie."""
    page = await context.new_page()
    await page.goto(f"{console}/console/orders")  # not signed in: sent to the sign-in page
    await page.wait_for_url("**/console/login?back=*")
    await page.get_by_label("Your login").fill(name)
    await page.get_by_label("Role").select_option("merchandiser")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/console/orders")
    await page.close()


@pytest.fixture
async def context(browser: Browser, console: str) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile (English) per test, signed in; a script error on any of its pages fails the test."""
    found = await browser.new_context(locale="en-GB", viewport={"width": 1366, "height": 768}, accept_downloads=True)
    errors: list[str] = []
    found.on("page", lambda page: page.on("pageerror", lambda error: errors.append(str(error))))
    await sign_in(found, console)
    yield found
    await found.close()
    assert errors == []


@pytest.fixture(scope="module")
async def accepted_order(shared_system: System) -> dict[str, Any]:
    """One order of this module, past review (so its order confirmation exists)."""
    [order] = await post_orders(shared_system, [order_body(0)])
    async with shared_system.client("order") as client:
        deadline = time.monotonic() + 60
        while (await client.get(f"/orders/{order['id']}")).json()["status"] == "in_review":
            assert time.monotonic() < deadline, "the order was not accepted"
            await asyncio.sleep(0.3)
    return order


async def test_the_table_fills_and_follows_an_order_live(
    shared_system: System, console: str, context: BrowserContext
) -> None:
    body = order_body(1)
    page = await context.new_page()
    await page.goto(f"{console}/console/orders")
    await page.get_by_label("Include closed, rejected and cancelled").check()
    await page.get_by_label("Search").fill(body["external_ref"])  # the filters swap the table in place
    await expect(page.locator("#tracking tbody")).to_contain_text("No order matches")
    await page.evaluate("window.stillTheSamePage = true")

    [order] = await post_orders(shared_system, [body])
    row = page.locator(f"#row-{order['id']}")
    await expect(row).to_be_visible(timeout=WAIT)  # the feed said an order changed: the table came again
    await expect(row).to_contain_text(body["external_ref"])
    first = await row.get_attribute("data-status")
    await expect(row).not_to_have_attribute("data-status", first or "", timeout=WAIT)  # it moved on screen
    assert await page.evaluate("window.stillTheSamePage") is True  # no reload: the table was swapped in place

    async with page.expect_download() as download:
        await page.get_by_role("link", name="Export CSV").click()
    exported = (await (await download.value).path()).read_text()
    assert order["id"] in exported and exported.startswith("id,customer,external_ref")


async def test_an_exception_is_assigned_and_resolved_from_the_board(
    shared_system: System, console: str, context: BrowserContext, accepted_order: dict[str, Any]
) -> None:
    order_id = accepted_order["id"]
    page = await context.new_page()
    await page.goto(f"{console}/console/exceptions?order_id={order_id}")
    await expect(page.locator("#me")).to_contain_text("li.wei")  # who acts is who signed in

    complaint = {"category": "damage", "description": "Three cartons crushed", "owner": "zhang.min", "severity": "high"}
    async with shared_system.client("order") as client:
        answer = await client.post(f"/orders/{order_id}/complaints", json=complaint, headers={"X-Actor": "zhang.min"})
    assert answer.status_code == 201, answer.text
    row = page.locator("tr[data-kind='order.complaint_open']")
    await expect(row).to_be_visible(timeout=WAIT)  # on the board without a reload
    exception_id = await row.get_attribute("data-exception-id")

    await row.locator("summary").focus()  # keyboard only: open the actions, fill, submit
    await page.keyboard.press("Enter")
    await row.get_by_label("Assign to").fill("wang.fang")
    await row.get_by_label("Assign to").press("Enter")
    row = page.locator(f"#exc-{exception_id}")
    await expect(row.locator(".assignee")).to_contain_text("wang.fang", timeout=WAIT)
    await expect(row.get_by_role("status")).to_have_count(0, timeout=WAIT)  # the feed brought the board again

    await row.locator("summary").click()
    await row.get_by_label("Why it is resolved").fill("Replacement cartons sent with the next truck")
    await row.get_by_role("button", name="Resolve").click()
    await expect(page.locator(f"#exc-{exception_id}")).to_have_count(0, timeout=WAIT)  # gone from the open board

    async with shared_system.client("order") as client:
        found = (await client.get(f"/exceptions/{exception_id}")).json()
    assert (found["open"], found["assignee"], found["resolved_by"]) == (False, "wang.fang", "li.wei")
    assert [a["action"] for a in found["history"]] == ["assign", "resolve"]


async def test_an_order_page_shows_its_timeline_and_opens_a_document(
    console: str, context: BrowserContext, accepted_order: dict[str, Any]
) -> None:
    page = await context.new_page()
    await page.goto(f"{console}/console/orders/{accepted_order['id']}")
    await expect(page.locator("h1")).to_contain_text(accepted_order["external_ref"])
    await expect(page.locator("#timeline li[data-type='order.accepted']")).to_have_count(1)
    await expect(page.locator("#lines tbody tr")).to_have_count(1)

    link = page.locator("#documents a.document", has_text="Order confirmation")
    href = await link.get_attribute("href")
    async with context.expect_event("response", lambda r: href is not None and r.url.endswith(href)) as opened:
        await link.click()
    response = await opened.value
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    pdf = await (await page.request.get(f"{console}{href}")).body()
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert accepted_order["external_ref"] in text


async def test_the_customer_link_shows_milestones_and_refuses_a_bad_signature(
    console: str, context: BrowserContext, accepted_order: dict[str, Any]
) -> None:
    page = await context.new_page()
    await page.goto(f"{console}/console/orders/{accepted_order['id']}")
    await page.get_by_role("button", name="Make a customer tracking link").click()
    url = await page.locator("#customer-link").input_value()
    assert "/track/" in url

    customer = await context.new_page()
    await customer.goto(url)
    await expect(customer.locator("#milestones li[data-milestone='confirmed']")).to_have_count(1)
    await expect(customer.locator("h1")).to_contain_text(accepted_order["external_ref"])
    shown = await customer.content()
    assert accepted_order["id"] not in shown and "exception" not in shown.lower()  # nothing internal

    token = url.rsplit("/", 1)[1]
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]  # one character of the signature
    answer = await customer.goto(url.replace(token, tampered))
    assert answer is not None and answer.status == 403
    await expect(customer.locator("#refused")).to_be_visible()

    secret = os.environ.get("TRACKING_LINK_SECRET", DEVELOPMENT_SECRET)
    expired = links.sign(accepted_order["id"], datetime.now(UTC) - timedelta(minutes=1), secret=secret)
    answer = await customer.goto(url.replace(token, expired))
    assert answer is not None and answer.status == 403
    await expect(customer.locator("#refused")).to_be_visible()


async def test_nobody_reads_the_console_without_signing_in(console: str, browser: Browser) -> None:
    stranger = await browser.new_context()
    page = await stranger.new_page()
    await page.goto(f"{console}/console/exceptions")
    await page.wait_for_url("**/console/login?back=%2Fconsole%2Fexceptions")
    answer = await page.request.get(f"{console}/console/orders/rows", headers={"HX-Request": "true"})
    assert answer.status == 401  # a fragment is refused, not redirected
    await stranger.close()


async def test_the_language_switch_changes_the_labels(console: str, context: BrowserContext) -> None:
    page: Page = await context.new_page()
    await page.goto(f"{console}/console/orders")
    nav = page.get_by_role("navigation", name="Sections")
    await expect(nav).to_contain_text("Exceptions")
    await page.locator("#lang-zh").click()
    await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    await expect(page.get_by_role("navigation", name="栏目")).to_contain_text("异常看板")
    await expect(page.locator("h1")).to_have_text("订单跟踪")
    await page.locator("#lang-en").click()
    await expect(page.locator("h1")).to_have_text("Order tracking")


async def test_the_key_figures_draw_their_charts(console: str, context: BrowserContext) -> None:
    page = await context.new_page()
    await page.goto(f"{console}/console/kpis")
    await expect(page.locator("h1")).to_have_text("Key figures")
    drawn = "c => !!window.Chart && !!window.Chart.getChart(c)"
    for chart in ("#chart-lead", "#chart-causes", "#chart-stages"):
        await page.wait_for_function(f"({drawn})(document.querySelector('{chart}'))")
