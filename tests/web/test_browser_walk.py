"""A Bromley case walked entirely through the browser, with the keyboard
alone, against a real stack started with CPP_PLUGINS=england,bromley (RabbitMQ,
the four services with the plans', the scheduler's and the docs' workers, the
web application).

A social worker, a team manager and a chair take turns: the social worker
finds no child and registers her, opens a case, records the strategy
discussion and the enquiry outcome, schedules the initial conference with a
chair, drafts and submits the enquiry report; the team manager countersigns
it from Approvals; the chair finds the child by name and records the
conference's outcome with the outline plan; the social worker records the
first core group meeting that agrees the plan, changes the plan, records a
visit and schedules a review; the chair records the review's outcome ending
the plan; the social worker makes the child in need plan and reads the
chronology. On the way the pages show the deadlines and their explanations
(the initial conference within 15 working days of the strategy discussion,
met; then Bromley's first core group within 10 working days of the
conference) and the plan's documents open as HTML and as PDF.

Every control is reached by pressing Tab and used with Enter, Space, the
arrow keys or typing: no mouse and no filling by script. Every page reached
passes axe-core with zero violations and is saved as a screenshot; the list
of pages checked is written to the test's output folder as pages.txt."""

from __future__ import annotations

import re
import time
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest

from tests.integration.conftest import broker_url, rabbit  # noqa: F401 (fixtures)
from tests.web.test_browser import artifacts, check, page, stack  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.broker]

BROMLEY = {"plugins": "england,bromley", "workers": ("docs",)}
MAX_TABS = 150  # a page's focusable controls, and round again
CHILD = ("Rosa", "Walkthrough")

# The pages the walk must reach, each checked with axe-core at least once.
REQUIRED = (
    "sign-in",
    "find-a-child",
    "register",
    "child",
    "case",
    "strategy-discussion",
    "enquiry-outcome",
    "schedule-conference",
    "report-form",
    "report",
    "approvals",
    "conference-outcome",
    "plan",
    "plan-change",
    "core-group-meeting",
    "visit",
    "review-outcome",
    "child-in-need-plan",
    "chronology",
    "deadline",
    "documents",
    "my-work",
    "team",
)


class Keyboard:
    """Moves through a page as a keyboard user does: Tab until the control has
    the focus, then Enter, Space, arrows or typing."""

    def __init__(self, page):
        self.page = page

    def has_focus(self, locator) -> bool:
        return locator.evaluate("e => e === document.activeElement")

    def tab_to(self, locator, what: str) -> None:
        count = locator.count()
        assert count == 1, f"{what}: {count} such controls on {self.page.url}"
        for _ in range(MAX_TABS):
            if self.has_focus(locator):
                return
            self.page.keyboard.press("Tab")
        pytest.fail(
            f"{what}: not reached by pressing Tab {MAX_TABS} times on {self.page.url} "
            f"(focus on {self.page.evaluate('document.activeElement.outerHTML.slice(0, 120)')})"
        )

    def follow(self, locator, what: str) -> None:
        """A link or a button that opens another page."""
        self.tab_to(locator, what)
        with self.page.expect_navigation():
            self.page.keyboard.press("Enter")

    def link(self, name: str, *, exact: bool = True, within=None) -> None:
        self.follow((within or self.page).get_by_role("link", name=name, exact=exact), f"the link {name!r}")

    def menu(self, name: str) -> None:
        """A link of the navigation at the top of every page."""
        self.link(name, within=self.page.get_by_role("navigation", name="Menu"))

    def button(self, name: str) -> None:
        self.follow(self.page.get_by_role("button", name=name, exact=True), f"the button {name!r}")

    def type(self, locator, text: str, what: str | None = None) -> None:
        self.tab_to(locator, what or f"the field {text!r} goes in")
        self.page.keyboard.press("Control+A")  # what is there already is replaced
        if text:
            self.page.keyboard.type(text)
        else:
            self.page.keyboard.press("Delete")
        assert locator.input_value() == text, f"{what}: typed {text!r}, the field holds {locator.input_value()!r}"

    def label(self, label: str, text: str, *, exact: bool = True) -> None:
        self.type(self.page.get_by_label(label, exact=exact), text, f"the field {label!r}")

    def field(self, field_id: str, text: str) -> None:
        self.type(self.page.locator(f"#{field_id}"), text, f"the field #{field_id}")

    def day(self, field: str, day: date) -> None:
        for part, value in (("day", day.day), ("month", day.month), ("year", day.year)):
            self.field(f"{field}-{part}", str(value))

    def choose(self, radio, what: str) -> None:
        """A radio: Tab into its group, the arrow keys to it, Space."""
        name = radio.get_attribute("name")
        in_group = (
            "n => document.activeElement && document.activeElement.type === 'radio' "
            "&& document.activeElement.name === n"
        )
        for _ in range(MAX_TABS):
            if self.page.evaluate(in_group, name):
                break
            self.page.keyboard.press("Tab")
        else:
            pytest.fail(f"{what}: the radios {name!r} not reached by pressing Tab on {self.page.url}")
        for _ in range(30):
            if self.has_focus(radio):
                break
            self.page.keyboard.press("ArrowDown")
        else:
            pytest.fail(f"{what}: the arrow keys never reached it on {self.page.url}")
        self.page.keyboard.press("Space")
        assert radio.is_checked(), what

    def answer(self, name: str, value: str) -> None:
        self.choose(self.page.locator(f"input[type=radio][name='{name}'][value='{value}']"), f"{name}: {value}")

    def radio_label(self, label: str) -> None:
        self.choose(self.page.get_by_label(label, exact=True), label)

    def tick(self, locator, what: str) -> None:
        self.tab_to(locator, what)
        if not locator.is_checked():
            self.page.keyboard.press("Space")
        assert locator.is_checked(), what

    def select(self, locator, option: str, what: str) -> None:
        """A select: Tab to it, Home, then ArrowDown until the option is the one selected."""
        wanted = locator.locator("option").filter(has_text=re.compile(f"^\\s*{re.escape(option)}\\s*$"))
        assert wanted.count() == 1, f"{what}: no option {option!r} among {locator.locator('option').all_inner_texts()}"
        value = wanted.get_attribute("value")
        self.tab_to(locator, what)
        self.page.keyboard.press("Home")
        for _ in range(locator.locator("option").count()):
            if locator.input_value() == value:
                return
            self.page.keyboard.press("ArrowDown")
        assert locator.input_value() == value, f"{what}: the arrow keys never selected {option!r}"


class Walk:
    def __init__(self, web: str, page, artifacts):
        self.web, self.page, self.artifacts = web, page, artifacts
        self.keys = Keyboard(page)
        self.pages: list[tuple[str, str]] = []

    def at(self, name: str, h1: str | None = None) -> None:
        """This page, checked: its heading, axe-core, a screenshot; and listed."""
        page = self.page
        if h1 is not None:
            summary = page.locator(".govuk-error-summary")
            assert page.locator("h1").inner_text() == h1, (page.url, summary.inner_text() if summary.count() else "")
        check(page, self.artifacts, f"{len(self.pages) + 1:02d}-{name}")
        self.pages.append((name, urlsplit(page.url).path))

    def main(self) -> str:
        return self.page.locator("main").inner_text()

    def banner(self) -> str:
        banner = self.page.locator(".govuk-notification-banner")
        return banner.inner_text() if banner.count() else ""

    def sign_in(self, name: str) -> None:
        self.keys.radio_label(name)
        self.keys.button("Sign in")

    def sign_out(self) -> None:
        self.keys.menu("Sign out")
        assert urlsplit(self.page.url).path == "/sign-in"
        assert "You have signed out." in self.page.content()

    def reload_until(self, shown, what: str, timeout: float = 90) -> None:
        """Asynchronous work (the scheduler's deadlines, the docs worker's documents): the page, reloaded
        until it shows it."""
        end = time.monotonic() + timeout
        while not shown():
            if time.monotonic() > end:
                pytest.fail(f"{what}: not shown on {self.page.url} after {timeout:.0f} seconds")
            time.sleep(1)
            self.page.reload()

    def write_list(self) -> None:
        (self.artifacts / "pages.txt").write_text("".join(f"{name}\t{path}\n" for name, path in self.pages))


def deadline_row(page, name_starts: str):
    return page.locator("table tbody tr").filter(
        has=page.locator("td:first-child", has_text=re.compile(f"^{re.escape(name_starts)}"))
    )


def walk(web: str, page, artifacts, child=CHILD, nhs_number="943 476 5919") -> list[tuple[str, str]]:
    today = date.today()
    strategy_on, enquiries_done = today - timedelta(days=20), today - timedelta(days=14)
    conference_on, core_group_on = today - timedelta(days=10), today - timedelta(days=6)
    visit_on, review_on = today - timedelta(days=3), today - timedelta(days=1)
    given, family = child
    child_name = f"{given} {family}"
    w = Walk(web, page, artifacts)
    keys = w.keys
    try:
        # The chair has used the platform before (so the conference can name them): their My work.
        page.goto(f"{web}/")
        assert urlsplit(page.url).path == "/sign-in"
        w.at("sign-in", "Sign in")
        w.sign_in("Morgan Ellis")
        assert urlsplit(page.url).path == "/my-work"
        w.at("my-work-chair", "My work")
        w.sign_out()

        # The social worker finds no child by that name, and registers her.
        w.sign_in("Sam Okafor")
        w.at("my-work", "My work")
        keys.menu("Find a child")
        w.at("find-a-child", "Find a child")
        keys.label("Name", child_name)
        keys.button("Search")
        assert "0 children found" in page.locator("#results").inner_text()
        w.at("find-a-child-none-found", "Find a child")
        keys.link("register a child")
        w.at("register", "Register a child")
        keys.field("given_names", given)
        keys.field("family_name", family)
        keys.day("date_of_birth", date(2019, 3, 27))
        keys.field("nhs_number", nhs_number)
        keys.radio_label("Female")
        keys.select(page.locator("#ethnicity"), "White and Black Caribbean", "the ethnicity")
        keys.tick(page.get_by_label("Hearing", exact=True), "the disability Hearing")
        keys.field("first_language", "English")
        keys.answer("interpreter_needed", "no")
        keys.field("address_line_1", "1 Made Up Road")
        keys.field("address_town", "Bromley")
        keys.field("postcode", "br1 1aa")
        keys.button("Register child")
        assert f"{child_name} has no cases" in w.main()
        w.at("child", child_name)
        child_path = urlsplit(page.url).path

        keys.button("Open a case")
        assert "The case is open" in w.main()
        w.at("case", child_name)
        case_path = urlsplit(page.url).path
        assert page.locator("main").get_by_text("This case has no deadlines yet.").count() == 1

        # The strategy discussion: the initial conference's deadline, 15 working days, appears.
        keys.link("Strategy discussion")
        w.at("strategy-discussion", "Record a strategy discussion")
        keys.day("held_on", strategy_on)
        keys.answer("initiated_enquiries", "yes")
        keys.field("notes", "Police, health and school agreed section 47 enquiries.")
        keys.button("Save strategy discussion")
        assert urlsplit(page.url).path == case_path and "The strategy discussion is recorded" in w.main()
        conference_deadline = lambda: deadline_row(page, "Initial child protection conference")  # noqa: E731
        w.reload_until(lambda: conference_deadline().count() == 1, "the initial conference's deadline")
        row = conference_deadline().inner_text()
        assert "Sam Okafor" in row and "Overdue" not in row, row
        w.at("case-with-deadline", child_name)

        keys.follow(conference_deadline().get_by_role("link"), "the initial conference's due date")
        explained = w.main()
        assert "15 working days after" in explained and strategy_on.strftime("%B %Y") in explained, explained
        assert "Days skipped" in explained and ("Saturday" in explained or "Sunday" in explained), explained
        assert page.locator("dt", has_text="Rule").count() == 1 and "Source" in explained
        w.at("deadline", page.locator("h1").inner_text())
        initial_deadline_path = urlsplit(page.url).path
        keys.link("The case")

        # The enquiry outcome: a conference is needed; it is scheduled with the chair.
        keys.link("Outcome of the section 47 enquiries")
        w.at("enquiry-outcome", "Record the enquiry outcome")
        keys.day("completed_on", enquiries_done)
        keys.answer("conference_required", "yes")
        keys.button("Save enquiry outcome")
        assert page.locator("dd", has_text="Conference to be held").count() == 1
        keys.link("Initial child protection conference")
        w.at("schedule-conference", "Schedule a conference")
        keys.day("scheduled_for", conference_on)
        keys.select(page.locator("#chair"), "Morgan Ellis", "the chair")
        keys.button("Schedule conference")
        assert "is scheduled for" in w.main()
        w.at("case-conference-scheduled", child_name)

        # My work shows the case and the conference's deadline.
        keys.menu("My work")
        assert child_name in page.locator("#my-cases + table").inner_text()
        assert "Initial child protection conference" in w.main()
        w.at("my-work-with-deadline", "My work")
        keys.link(child_name, within=page.locator("#my-cases + table"))
        assert urlsplit(page.url).path == case_path

        # The enquiry report: drafted and submitted for countersigning.
        keys.link("Report to the initial child protection conference", exact=False)
        w.at("report-form", "Draft the report to conference")
        keys.label("What the section 47 enquiries found", "Home conditions are poor; missed health appointments.")
        keys.day("seen_on_1", enquiries_done)
        keys.tick(page.locator("#seen_alone_1"), "seen alone")
        keys.label("The child's views", "Rosa wants to stay at her school.")
        keys.button("Save the draft")
        w.at("report", "Enquiry report to the initial child protection conference")
        report_path = urlsplit(page.url).path
        keys.button("Submit for countersigning")
        assert "Waiting for countersigning" in w.main()
        w.at("report-submitted")
        w.sign_out()

        # The team manager countersigns it from Approvals; the Team page lists the case.
        w.sign_in("Priya Shah")
        keys.menu("Approvals")
        queue = page.locator("table")
        assert child_name in queue.inner_text() and "Sam Okafor" in queue.inner_text()
        w.at("approvals", "Approvals")
        keys.link(child_name, exact=False, within=queue)
        assert urlsplit(page.url).path == report_path
        w.at("report-to-countersign")
        keys.button("Countersign the report")
        assert urlsplit(page.url).path == "/approvals" and "The report is countersigned." in w.main()
        w.at("approvals-done", "Approvals")
        keys.menu("Team")
        assert child_name in page.locator("h2#cases + table").inner_text()
        w.at("team", "Team")
        w.sign_out()

        # The chair finds the child by name and records the conference's outcome with the outline plan.
        w.sign_in("Morgan Ellis")
        keys.menu("Find a child")
        keys.label("Name", child_name)
        keys.button("Search")
        assert "1 child found" in page.locator("#results").inner_text()
        keys.link(child_name, within=page.locator("#results + table"))
        assert urlsplit(page.url).path == child_path
        w.at("child-found", child_name)
        keys.follow(page.locator("main table").get_by_role("link", name="Opened"), "the child's case")
        assert urlsplit(page.url).path == case_path
        keys.link("Outcome and outline plan")
        w.at("conference-outcome", "Record the conference outcome")
        keys.day("held_on", conference_on)
        keys.answer("plan_required", "yes")
        keys.select(page.locator("#key_worker"), "Sam Okafor", "the key worker")
        keys.tick(page.locator("input[name=categories][value=neglect]"), "neglect")
        keys.field("core_group-0-name", "Sam Okafor")
        keys.field("core_group-0-role", "social worker")
        keys.field("core_group-0-agency", "Children's Social Care")
        keys.field("core_group-0-email", "sam.okafor@council.example")
        keys.field("core_group-1-name", "Ana Walkthrough")
        keys.field("core_group-1-role", "mother")
        keys.tick(page.locator("#core_group-1-is_family_member"), "a family member")
        keys.day("first_core_group_on", core_group_on)
        keys.field("concerns", "Neglect of basic care.")
        keys.button("Save conference outcome")
        assert urlsplit(page.url).path == case_path and "the outline plan is agreed" in w.main()
        # The initial conference's deadline is met; Bromley's first core group's appears.
        core_group_deadline = lambda: deadline_row(page, "First core group meeting (Bromley")  # noqa: E731
        w.reload_until(
            lambda: core_group_deadline().count() == 1 and "Met" in conference_deadline().inner_text(),
            "the initial conference's deadline met and the first core group's",
        )
        w.at("case-on-plan", child_name)
        keys.follow(core_group_deadline().get_by_role("link"), "the first core group's due date")
        explained = w.main()
        assert "10 working days after" in explained and "Bromley" in explained, explained
        w.at("deadline-first-core-group", page.locator("h1").inner_text())
        keys.link("The case")
        keys.follow(conference_deadline().get_by_role("link"), "the initial conference's due date")
        assert urlsplit(page.url).path == initial_deadline_path  # the first explanation, now met
        assert page.locator("dt", has_text="Status").locator("xpath=following-sibling::dd[1]").inner_text() == "Met"
        w.sign_out()

        # The social worker: the first core group agrees the plan; a change; a visit; a review.
        w.sign_in("Sam Okafor")
        assert "First core group meeting (Bromley" in w.main()
        w.at("my-work-core-group-due", "My work")
        keys.link(child_name, within=page.locator("#my-cases + table"))
        keys.link("The child protection plan")
        w.at("plan-outline", "Child protection plan")
        plan_path = urlsplit(page.url).path
        keys.link("Record a core group meeting")
        w.at("core-group-meeting", page.locator("h1").inner_text())
        keys.day("held_on", core_group_on)
        # the key worker is there to start with: a core group meeting is held with them
        assert page.get_by_label("Who attended?").input_value() == "Sam Okafor, key worker"
        keys.label("Who attended?", "Sam Okafor, social worker\nAna Walkthrough, mother")
        keys.answer("detailed_plan_agreed", "yes")
        keys.field("outcome", "Rosa lives in a safe, clean home.")  # the detailed plan the meeting agrees
        keys.select(page.locator("#outcome_term"), "Short term", "the outcome's term")
        keys.day("outcome_on", today + timedelta(days=90))
        keys.field("outcome_judged", "Home visits find the home safe")
        keys.field("action_what", "Clear the kitchen")
        keys.field("action_why", "Hygiene risk")
        keys.field("action_who", "Ana Walkthrough")
        keys.answer("action_who_kind", "family_member")
        keys.day("action_by", today + timedelta(days=30))
        keys.field("monitoring_who", "Hana Visitor")
        keys.field("monitoring_agency", "NHS")
        keys.field("monitoring_what", "Sees Rosa at home")
        keys.select(page.locator("#monitoring_contact"), "Home visit", "how the monitoring is done")
        keys.field("monitoring_every", "2")
        keys.select(page.locator("#monitoring_unit"), "Weeks", "how often")
        keys.day("next_review_on", review_on + timedelta(days=90))
        keys.field("review_judged", "At the review conference")
        keys.field("contingency_plan", "A legal planning meeting is called")
        keys.field("triggers", "Rosa is found alone at home")
        keys.button("Record the meeting")
        assert urlsplit(page.url).path == plan_path and "The core group meeting is recorded." in w.main()
        assert "Active" in w.main()
        w.at("plan", "Child protection plan")

        # A change to the plan: a new version.
        keys.link("Change the plan")
        w.at("plan-change", "Change the plan")
        keys.label("The family's views", "Ana says the kitchen is clear now.")
        keys.button("Save the change")
        assert urlsplit(page.url).path == plan_path
        version = re.search(r"this is version (\d+) of the plan", w.banner())
        assert version and int(version.group(1)) >= 3, w.banner()
        assert "Ana says the kitchen is clear now." in w.main()
        w.at("plan-changed", "Child protection plan")

        # A visit.
        keys.link("Record a visit")
        w.at("visit", page.locator("h1").inner_text())
        keys.day("visited_on", visit_on)
        for question in ("announced", "child_seen", "seen_alone"):
            keys.answer(question, "yes")
        keys.button("Record the visit")
        assert urlsplit(page.url).path == plan_path and "The visit is recorded." in w.main()

        # The plan's documents: the professional and the family versions, opened as HTML and as PDF.
        keys.link("Documents")
        listed = lambda: page.locator("main").inner_text()  # noqa: E731
        w.reload_until(
            lambda: "Child protection plan, family version" in listed() and "Professionals" in listed(),
            "the plan's documents, professional and family",
        )
        w.at("documents", "Documents")
        html_link = page.get_by_role("link", name=re.compile(r"family version.* as HTML$")).first
        with page.expect_response(lambda r: urlsplit(r.url).path.startswith("/documents/")) as opened:
            keys.follow(html_link, "the family version as HTML")
        response = opened.value
        assert response.status == 200 and response.headers["content-type"].startswith("text/html")
        assert given in page.locator("body").inner_text()
        page.screenshot(path=str(artifacts / f"{len(w.pages) + 1:02d}-document-html.png"), full_page=True)
        page.go_back()  # the browser's Back
        pdf_link = page.get_by_role("link", name=re.compile(r"as PDF$")).first
        with page.expect_response(lambda r: urlsplit(r.url).path.startswith("/documents/")) as opened:
            keys.follow(pdf_link, "a document as PDF")
        response = opened.value
        assert response.status == 200 and response.headers["content-type"] == "application/pdf"  # in the viewer

        # The first core group's deadline is met, and the next core group is due as the plan's rhythm says; a review
        # is scheduled from the case's task list.
        page.goto(f"{web}{case_path}")  # the case's address, as bookmarked
        w.reload_until(
            lambda: any("Met" in row for row in core_group_deadline().all_inner_texts()),
            "the first core group's deadline met",
        )
        keys.link("Review child protection conferences")
        assert page.locator("#kind").input_value() == "review"
        w.at("schedule-review", "Schedule a conference")
        keys.day("scheduled_for", review_on)
        keys.select(page.locator("#chair"), "Morgan Ellis", "the chair")
        keys.button("Schedule conference")
        assert "is scheduled for" in w.main()
        w.at("case-review-scheduled", child_name)
        w.sign_out()

        # The chair records the review's outcome: the plan ends.
        w.sign_in("Morgan Ellis")
        page.goto(f"{web}{case_path}")
        keys.link("Review child protection conferences")
        w.at("review-outcome", "Record the review child protection conference's outcome")
        keys.day("held_on", review_on)
        keys.radio_label("End the child protection plan")
        keys.label("Why does the child protection plan end?", "Home conditions are good; Rosa is seen at school.")
        keys.field("attendees-0-name", "Hana Visitor")
        keys.field("attendees-0-role", "health visitor")
        keys.button("Save conference outcome")
        assert urlsplit(page.url).path == case_path
        assert "the child protection plan has ended" in w.banner()
        w.at("case-plan-ended", child_name)
        w.sign_out()

        # The social worker makes the child in need plan, and reads the chronology.
        w.sign_in("Sam Okafor")
        page.goto(f"{web}{case_path}")
        keys.link("Ending or step-down")
        w.at("child-in-need-plan", "Make the child in need plan")
        assert page.get_by_label("Key worker", exact=True).input_value() == "Sam Okafor"
        keys.label("The child's needs", "Help with routines at home; school attendance.")
        keys.label("Services to support the child and family (optional)", "Family support\nEarly help")
        keys.day("review_on", today + timedelta(days=90))
        keys.button("Save child in need plan")
        assert "The child in need plan is made." in w.main()
        w.at("case-child-in-need", child_name)
        page.goto(f"{web}{child_path}")
        keys.link(f"{child_name}'s chronology")
        rows = page.locator("tbody tr").all_inner_texts()
        said = "\n".join(rows)
        assert "Child in need plan made" in rows[0]
        for expected in (
            "Review child protection conference held: the child protection plan ends",
            "Core group meeting held",
            "Outline child protection plan agreed",
            "Initial child protection conference held: a child protection plan is needed",
            "Strategy discussion held",
            "Case opened",
            "Morgan Ellis",
            "Sam Okafor",
        ):
            assert expected in said, expected
        w.at("chronology", "Chronology")
        return w.pages
    finally:
        w.write_list()


@pytest.mark.parametrize("stack", [BROMLEY], ids=["bromley"], indirect=True)
def test_a_bromley_case_walked_with_the_keyboard_by_a_social_worker_a_manager_and_a_chair(stack, page, artifacts):  # noqa: F811
    pages = walk(stack["web"], page, artifacts)
    names = {name for name, _ in pages}
    assert set(REQUIRED) <= names, f"not checked: {sorted(set(REQUIRED) - names)}"
