"""A student on the course's JupyterHub, in headless Chromium: log in, open the Assignments tab, fetch, submit.

A throwaway class (``hub_class.py``: an instructor and one student, system accounts removed afterwards) with the
tiny assignment released to the exchange, the hub from ``course/hub/jupyterhub_config.py`` with a shared test
password in place of PAM. Playwright drives Debian's ``chromium`` by clicks, as a student would: the hub's log-in
form, then the Lab's Nbgrader menu (which must offer the Assignment List and no Formgrader), then the Fetch and
Submit buttons of nbgrader's assignment list. The submission must then be in the exchange, owned by the student.
Screenshots: ``build/browser/hub-assignments.png`` (after submitting).
"""
from __future__ import annotations

import pytest
from conftest import ROOT, in_ci
from hub_class import (
    close_class,
    instructor_course,
    open_class,
    release,
    require_class_machine,
    start_hub,
)
from test_browser import CHROMIUM, CHROMIUM_FLAGS
from test_grading import tiny_source

pytestmark = [pytest.mark.hub, pytest.mark.browser, pytest.mark.slow]
SCREENSHOT = ROOT / "build" / "browser" / "hub-assignments.png"
PASSWORD = "class-test-password"


@pytest.fixture(scope="module")
def hub_with_release(tmp_path_factory):
    require_class_machine()
    if CHROMIUM is None:
        if in_ci():
            pytest.fail("chromium is not installed: in CI the browser test must run (.ci/run installs it)")
        pytest.skip("chromium is not installed (and not in CI): run `make setup-browser` to enable this test")
    cls = open_class(("browser",))
    try:
        instructor_course(cls, "tiny", tiny_source())
        release(cls, "tiny")
        base, _ = start_hub(cls, PASSWORD, tmp_path_factory.mktemp("hub") / "hub.log")
        yield cls, base
    finally:
        close_class(cls)


def log_in(page, base: str, user: str) -> None:
    page.goto(f"{base}/hub/login", wait_until="domcontentloaded", timeout=60_000)
    page.fill("#username_input", user)
    page.fill("#password_input", PASSWORD)
    page.click("#login_submit")
    # the hub starts the server (20-40 s on a busy machine), then redirects to the Lab
    page.wait_for_selector("#jp-main-dock-panel", timeout=240_000)


def open_assignment_list(page) -> list[str]:
    """Open Nbgrader > Assignment List; returns the menu's labels."""
    menu = page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader")
    menu.wait_for(timeout=60_000)
    menu.click()
    items = page.locator(".lm-Menu-itemLabel")
    items.first.wait_for(timeout=30_000)
    labels = [t.strip() for t in items.all_inner_texts()]
    page.locator(".lm-Menu-itemLabel", has_text="Assignment List").click()
    return labels


@pytest.mark.timeout(600)
def test_a_student_logs_in_sees_the_release_fetches_and_submits_it(hub_with_release, tmp_path):
    from playwright.sync_api import sync_playwright

    cls, base = hub_with_release
    student = cls.students["browser"]
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_FLAGS, viewport={"width": 1400, "height": 900})
        try:
            page = context.pages[0] if context.pages else context.new_page()
            log_in(page, base, student)
            labels = open_assignment_list(page)
            released = page.locator("#released_assignments_list .list_item", has_text="tiny")
            released.wait_for(timeout=60_000)
            released.locator("button", has_text="Fetch").click()
            fetched = page.locator("#fetched_assignments_list .list_item", has_text="tiny")
            fetched.first.wait_for(timeout=60_000)
            fetched.first.locator("button", has_text="Submit").click()
            page.locator("#submitted_assignments_list .list_item", has_text="tiny").first.wait_for(timeout=60_000)
            page.screenshot(path=str(SCREENSHOT))
        finally:
            context.close()
    assert any("Assignment List" in t for t in labels), labels
    assert not any("Formgrader" in t for t in labels), f"a student's Nbgrader menu offers the Formgrader: {labels}"
    fetched_copy = cls.home(student) / "tiny" / "tiny.ipynb"
    assert fetched_copy.stat().st_uid == _uid(student)
    inbound = cls.exchange / cls.course_id / "inbound"
    submissions = list(inbound.glob(f"{student}+tiny+*"))
    assert len(submissions) == 1 and submissions[0].stat().st_uid == _uid(student), submissions
    assert (submissions[0] / "tiny.ipynb").read_bytes() == fetched_copy.read_bytes()


def _uid(user: str) -> int:
    import pwd

    return pwd.getpwnam(user).pw_uid
