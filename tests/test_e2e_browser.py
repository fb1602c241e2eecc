"""Tier 4: the htmx pages in a real Chromium, against a real server on PostgreSQL.

One project with htmx per Django version. The browser signs up, follows the link the server
mailed (into a folder, sent by a real worker where Celery is chosen), creates an article and
sees it appear without a page load, searches, publishes, deletes and meets a validation error;
then logs in again with JavaScript off. With shared users, a newcomer creates an organisation,
invites a colleague who joins in a second browser, promotes and removes them. A screenshot of
every step lands in the test's own folder, and the list page's weight is printed.
"""

from __future__ import annotations

import base64
import contextlib
import email
import email.policy
import gzip
import hashlib
import hmac
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Response, expect, sync_playwright

from .conftest import ProjectCache, missing
from .matrix import Combination, combinations, resolve
from .projects import Project, fresh_database
from .servers import celery_worker, free_port, serve

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "e2e-browser-password"
TITLE = "Hello from Chromium"
# How long the server (and its worker) may take to write a mail.
MAIL_SECONDS = 20
# Seconds before the end of a TOTP period in which no code is made (see `totp`).
TOTP_MARGIN = 3
# Chromium's stand-in for a phone or a computer's own authenticator (DevTools' WebAuthn domain).
VIRTUAL_AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}
# Set once the list page has loaded; a full page load would wipe it.
MARKER = "window.noPageLoadSince"


def one_htmx_project_with_shared_users() -> list[object]:
    """The first combination with pages and shared users: organisations made in the browser."""
    combination = next(
        combination
        for combination in combinations()
        if (answers := resolve(combination.as_data())[0])["use_htmx"]
        and answers["tenancy"] == "shared"
    )
    group = pytest.mark.xdist_group(combination.id)
    return [pytest.param(combination, id=combination.id, marks=group)]


def one_htmx_project_per_django_version() -> list[object]:
    chosen: dict[str, Combination] = {}
    for combination in combinations():
        answers = resolve(combination.as_data())[0]
        if answers["use_htmx"]:
            chosen.setdefault(answers["django_version"], combination)
    return [
        pytest.param(combination, id=combination.id, marks=pytest.mark.xdist_group(combination.id))
        for combination in chosen.values()
    ]


# --- The server and the browser -------------------------------------------------------------


@pytest.fixture
def database(combination: Combination) -> Iterator[str]:
    with fresh_database(combination.id) as name:
        yield name


@pytest.fixture
def mailbox(tmp_path: Path) -> Path:
    """The folder the server writes its mail into, a file per message."""
    return tmp_path / "mail"


@pytest.fixture
def server(
    projects: ProjectCache,
    combination: Combination,
    database: str,
    mailbox: Path,
    tmp_path: Path,
) -> Iterator[str]:
    """The project's own server (runserver with DEBUG off) on a free port, and its worker."""
    project = Project(projects.get(combination), database)
    project.run("uv", "sync", "--locked", "--quiet")
    project.manage("migrate", "--no-input")
    # The development settings, as `manage.py` picks them, for the worker too.
    env = project.env | {
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        "DJANGO_DEBUG": "false",
        "EMAIL_URL": f"filemail:///{mailbox}",
    }
    port = free_port()
    # --insecure: runserver serves the static files even with DEBUG off.
    command = ["runserver", f"127.0.0.1:{port}", "--noreload", "--insecure"]
    logs = [tmp_path / "server.log"]
    with contextlib.ExitStack() as stack:
        if (project.path / "config" / "celery.py").exists():
            # Messages an earlier run left in this Redis database are not this test's.
            project.run(".venv/bin/celery", "--app", "config.celery:app", "purge", "-f", **env)
            logs.append(tmp_path / "worker.log")
            stack.enter_context(celery_worker(project.path, env, logs[-1]))
        yield stack.enter_context(
            serve(
                [".venv/bin/python", "manage.py", *command],
                port=port,
                cwd=project.path,
                env=env,
                log=logs[0],
            )
        )
    for log in logs:
        assert "Traceback" not in log.read_text(), f"{log}:\n{log.read_text()[-4000:]}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; missing, it fails the tier under CI and skips it elsewhere."""
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        yield browser
        browser.close()


class Screenshots:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.names: list[str] = []

    def take(self, page: Page, step: str) -> None:
        name = f"{len(self.names) + 1:02d}-{step}.png"
        page.screenshot(path=self.folder / name, full_page=True)
        self.names.append(name)


def page_weight(context: BrowserContext, path: str) -> Counter[str]:
    """Bytes of HTML, CSS and JavaScript a fresh load of `path` fetches, and their gzip size."""
    page = context.new_page()
    responses: list[Response] = []
    page.on("response", lambda response: responses.append(response))
    page.goto(path, wait_until="load")
    weight: Counter[str] = Counter()
    for response in responses:
        kind = response.request.resource_type
        if kind in {"document", "stylesheet", "script"}:
            body = response.body()
            weight[kind] += len(body)
            weight["gzip"] += len(gzip.compress(body))
    page.close()
    return weight


def sign_up(page: Page, server: str, mailbox: Path, email: str, shots: Screenshots) -> None:
    """Sign up, open the link the server mailed and confirm: the same browser is then in."""
    page.goto("/")
    page.get_by_role("link", name="Sign up", exact=True).click()
    page.locator("#id_email").fill(email)
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    shots.take(page, "sign-up")
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()
    shots.take(page, "verification-sent")
    page.goto(link_in_mail(mailbox, email, "Confirm"))
    shots.take(page, "confirm")
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(f"{server}/articles/")


def link_in_mail(mailbox: Path, address: str, subject: str = "") -> str:
    """The path of the link in the first mail to `address` about `subject`, once the server
    has written it."""
    deadline = time.monotonic() + MAIL_SECONDS
    while time.monotonic() < deadline:
        for file in sorted(mailbox.glob("*.log")) if mailbox.exists() else []:
            message = email.message_from_bytes(file.read_bytes(), policy=email.policy.default)
            body = message.get_body(("plain",))
            text = body.get_content() if isinstance(body, EmailMessage) else ""
            about = subject in str(message["Subject"])
            link = re.search(r"https?://[^/\s]+(/\S+)", text)
            if message["To"] == address and about and link:
                return link.group(1)
        time.sleep(0.1)
    pytest.fail(f"no mail to {address} in {mailbox} within {MAIL_SECONDS} s")


def log_in(page: Page, server: str, email: str) -> None:
    page.goto("/accounts/login/?next=/articles/")
    page.locator("#id_login").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In", exact=True).click()
    expect(page).to_have_url(f"{server}/articles/")


# --- The test -----------------------------------------------------------------------------


@pytest.mark.parametrize("combination", one_htmx_project_per_django_version())
def test_articles_in_a_real_browser(
    browser: Browser,
    server: str,
    mailbox: Path,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    # A new address each run: allauth limits verification mails per address, in the cache.
    email = f"e2e-{secrets.token_hex(4)}@example.com"
    shots = Screenshots(tmp_path)
    context = browser.new_context(base_url=server, viewport={"width": 1024, "height": 768})
    context.set_default_timeout(10_000)
    page = context.new_page()

    sign_up(page, server, mailbox, email, shots)
    shots.take(page, "signed-in")
    page.evaluate(f"{MARKER} = true")

    title, messages = page.get_by_label("Title"), page.locator("#messages")
    title.fill(TITLE)
    page.get_by_label("Body").fill("Written by the browser tier.")
    page.get_by_role("button", name="Save draft").click()
    row = page.locator("#article-rows > .article", has_text=TITLE)
    expect(row.locator(".badge")).to_have_text("Draft")
    expect(messages).to_contain_text(f"Draft saved: {TITLE}")
    expect(title).to_have_value("")
    expect(title).to_be_focused()
    shots.take(page, "created")

    search = page.get_by_label("Search")
    search.fill("no such article")
    expect(page.locator("#article-rows")).to_contain_text("No articles found.")
    expect(page).to_have_url(re.compile(r"/articles/\?q=no%20such%20article"))
    search.fill("")
    expect(row).to_be_visible()
    shots.take(page, "searched")

    row.get_by_role("button", name="Publish").click()
    expect(row.locator(".badge")).to_have_text("Published")
    expect(row.get_by_role("heading", name=TITLE)).to_be_focused()
    expect(messages).to_contain_text(f"Published: {TITLE}")
    shots.take(page, "published")

    weight = page_weight(context, "/articles/")  # in a second tab: this one must not reload

    row.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    expect(messages).to_contain_text(f"Deleted: {TITLE}")
    expect(messages.locator(".message")).to_be_focused()
    expect(page.locator("#article-rows")).to_contain_text("No articles found.")
    shots.take(page, "deleted")

    title.fill("   ")
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name="Save draft").click()
    assert posted.value.status == 422
    expect(page.get_by_role("alert")).to_be_focused()
    expect(title).to_have_attribute("aria-invalid", "true")
    shots.take(page, "validation-error")

    assert page.evaluate(MARKER) is True, "a step loaded a whole page instead of swapping a part"
    context.close()

    # The same steps with JavaScript off: plain form posts, redirects and whole pages.
    context = browser.new_context(base_url=server, java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, server, email)
    page.get_by_label("Title").fill(TITLE)
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#messages")).to_contain_text(f"Draft saved: {TITLE}")
    row = page.locator("#article-rows > .article", has_text=TITLE)
    row.get_by_role("button", name="Publish").click()
    expect(row.locator(".badge")).to_have_text("Published")
    shots.take(page, "no-javascript-published")
    row.get_by_role("button", name="Delete").click()
    expect(page.locator("#messages")).to_contain_text(f"Deleted: {TITLE}")
    expect(row).to_have_count(0)
    context.close()

    total = weight["document"] + weight["stylesheet"] + weight["script"]
    record_property("screenshots", f"{tmp_path}: {', '.join(shots.names)}")
    record_property(
        "list page weight",
        f"HTML {weight['document']} B + CSS {weight['stylesheet']} B + JS {weight['script']} B"
        f" = {total} B ({weight['gzip']} B gzipped)",
    )


@pytest.mark.parametrize("combination", one_htmx_project_per_django_version())
def test_api_docs_work_under_the_content_security_policy(browser: Browser, server: str) -> None:
    """Swagger UI (self-hosted) draws the operations, and the browser blocks nothing."""
    context = browser.new_context(base_url=server)
    page = context.new_page()
    blocked = csp_blocks(page)
    response = page.goto("/api/docs/")
    assert response is not None
    assert "script-src 'self'" in (response.header_value("Content-Security-Policy") or "")
    expect(page.locator(".opblock-summary-path").first).to_be_visible(timeout=10_000)
    expect(
        page.locator(".opblock-summary-path", has_text="/api/v1/articles/").first
    ).to_be_visible()
    assert not blocked, f"the Content-Security-Policy blocked: {blocked}"
    context.close()


@pytest.mark.parametrize("combination", one_htmx_project_per_django_version())
def test_account_pages_work_under_the_content_security_policy(
    browser: Browser, server: str, mailbox: Path, tmp_path: Path
) -> None:
    """allauth's pages in the site's layout, an authenticator app and a passkey turned on and
    used to log in: the browser blocks nothing on any of them."""
    # A passkey's relying party is a host name, never an address: the same server, by name.
    site = server.replace("127.0.0.1", "localhost")
    context = browser.new_context(base_url=site)
    context.set_default_timeout(10_000)
    page = context.new_page()
    blocked = csp_blocks(page)
    shots = Screenshots(tmp_path)
    email = f"e2e-{secrets.token_hex(4)}@example.com"
    sign_up(page, site, mailbox, email, shots)
    page.goto("/accounts/email/")
    page.locator("#id_email").fill(f"moved-{secrets.token_hex(4)}@example.com")
    page.get_by_role("button", name="Change Email").click()
    expect(page.get_by_role("button", name="Cancel Change")).to_be_visible()
    shots.take(page, "email-change-pending")
    # allauth turns a second factor on only while every address is verified.
    page.get_by_role("button", name="Cancel Change").click()
    expect(page.get_by_role("button", name="Cancel Change")).to_have_count(0)
    page.goto("/accounts/password/change/")
    expect(page.locator("form.card").first).to_be_visible()
    shots.take(page, "password-change")
    page.get_by_role("link", name="Two-factor").click()
    expect(page.get_by_role("heading", name="Two-Factor Authentication")).to_be_visible()
    shots.take(page, "two-factor")

    # An authenticator app: the password again, then a code computed from the shown secret.
    page.get_by_role("link", name="Activate").click()
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    secret = page.locator("#authenticator_secret").input_value()
    shots.take(page, "authenticator-app")
    page.locator("#id_code").fill(totp(secret))
    page.get_by_role("button", name="Activate").click()
    expect(page.locator("#messages")).to_contain_text("activated")
    page.get_by_role("button", name="Sign out").click()
    page.goto("/accounts/login/")
    page.locator("#id_login").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In", exact=True).click()
    expect(page.get_by_role("heading", name="Two-Factor Authentication")).to_be_visible()
    page.locator("#id_code").fill(totp(secret))
    shots.take(page, "second-factor")
    page.get_by_role("button", name="Sign In", exact=True).click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    # A passkey, on Chromium's virtual authenticator (the platform's own, with a PIN).
    webauthn = context.new_cdp_session(page)
    webauthn.send("WebAuthn.enable")
    webauthn.send("WebAuthn.addVirtualAuthenticator", {"options": VIRTUAL_AUTHENTICATOR})
    page.goto("/accounts/2fa/webauthn/add/")
    page.locator("#id_password").fill(PASSWORD)  # adding one asks for the password again
    page.get_by_role("button", name="Confirm").click()
    page.get_by_label("Passwordless").check()
    shots.take(page, "passkey-add")
    page.get_by_role("button", name="Add").click()
    expect(page.locator("#messages")).to_contain_text("Security key added")
    page.get_by_role("button", name="Sign out").click()
    page.goto("/accounts/login/")
    shots.take(page, "passkey-login")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    page.goto("/accounts/password/reset/")
    shots.take(page, "password-reset")
    assert not blocked, f"the Content-Security-Policy blocked: {blocked}"
    context.close()


def csp_blocks(page: Page) -> list[str]:
    """What the page's Content-Security-Policy blocks from now on, as the console says it."""
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: (
            blocked.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return blocked


def totp(secret: str) -> str:
    """The code an authenticator app shows now for `secret` (RFC 6238: SHA-1, 30 s, 6 digits).

    A code made in the last seconds of its period may reach the server in the next, which
    refuses it: those seconds are waited out.
    """
    if (left := 30 - time.time() % 30) < TOTP_MARGIN:
        time.sleep(left)
    counter = int(time.time() // 30)
    digest = hmac.new(base64.b32decode(secret), counter.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(int.from_bytes(digest[offset : offset + 4], 'big') & 0x7FFFFFFF) % 10**6:06d}"


@pytest.fixture
def demo(projects: ProjectCache, combination: Combination, database: str, server: str) -> str:
    """The address of a tenant an operator made, where a newcomer signs up."""
    project = Project(projects.get(combination), database)
    owner = ("--owner-email", "operator@example.com", "--owner-password", PASSWORD)
    project.manage("add_tenant", "demo", "--name", "Demo", *owner)
    return server.replace("127.0.0.1", "demo.localhost")


@pytest.mark.parametrize("combination", one_htmx_project_with_shared_users())
def test_organisations_in_a_real_browser(
    browser: Browser, server: str, demo: str, mailbox: Path, tmp_path: Path
) -> None:
    """A newcomer creates an organisation, invites a colleague who joins from the mailed link
    in another browser, makes them an admin, then removes them."""
    shots = Screenshots(tmp_path)
    gamma = server.replace("127.0.0.1", "gamma.localhost")
    owner_email = f"owner-{secrets.token_hex(4)}@example.com"
    colleague_email = f"colleague-{secrets.token_hex(4)}@example.com"
    owner = browser.new_context(base_url=demo).new_page()
    owner.set_default_timeout(10_000)

    sign_up(owner, demo, mailbox, owner_email, shots)
    expect(owner.get_by_role("heading", name="Not a member of Demo")).to_be_visible()
    owner.get_by_role("link", name="create an organisation of your own").click()
    owner.get_by_label("Name").fill("Gamma")
    owner.get_by_label("Subdomain").fill("gamma")
    owner.get_by_role("button", name="Create the organisation").click()
    owner.get_by_role("link", name="open Gamma").click()
    # Sessions are per host: the new organisation's asks to sign in again.
    expect(owner).to_have_url(re.compile(r"^http://gamma\.localhost:\d+/accounts/login/"))
    owner.locator("#id_login").fill(owner_email)
    owner.locator("#id_password").fill(PASSWORD)
    owner.get_by_role("button", name="Sign In", exact=True).click()
    expect(owner.get_by_role("heading", name="Gamma", exact=True)).to_be_visible()
    shots.take(owner, "organisation-created")

    owner.locator("#id_email").fill(colleague_email)
    owner.locator("#id_role").select_option("member")
    owner.get_by_role("button", name="Invite").click()
    expect(owner.locator("#messages")).to_contain_text(f"Invited {colleague_email}")
    shots.take(owner, "invited")

    colleague = browser.new_context(base_url=gamma).new_page()
    colleague.set_default_timeout(10_000)
    sign_up(colleague, gamma, mailbox, colleague_email, shots)
    colleague.goto(link_in_mail(mailbox, colleague_email, "Join"))
    colleague.get_by_role("button", name="Join Gamma").click()
    expect(colleague.locator("#messages")).to_contain_text("Welcome to Gamma")
    shots.take(colleague, "joined")

    owner.reload()
    row = owner.locator("tr", has_text=colleague_email)
    row.get_by_label(f"Role of {colleague_email}").select_option("admin")
    row.get_by_role("button", name="Change").click()
    expect(owner.locator("#messages")).to_contain_text(f"{colleague_email} is admin now")
    owner.locator("tr", has_text=colleague_email).get_by_role("button", name="Remove").click()
    expect(owner.locator("tr", has_text=colleague_email)).to_have_count(0)
    shots.take(owner, "removed")

    colleague.goto("/organisation/")
    expect(colleague.get_by_role("heading", name="Not a member of Gamma")).to_be_visible()
