"""The pages: sign in and out, My work, a case, a deadline's explanation.

Every page reads the services as the signed-in person (their bearer token,
kept in the server-side session only); the services decide what each person
may see and do. The role only decides the navigation.
"""

from __future__ import annotations

import contextvars
import functools
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_session.base import ServerSideSessionInterface

from cpp_shared.auth import issue_dev_token
from cpp_shared.config import ConfigError
from cpp_shared.plugins import Plugins

from . import demo, oidc, people, words
from .client import NotFound, ServiceError, Services
from .forms import SignInForm
from .words import term

bp = Blueprint("web", __name__)

WORKERS = ("social_worker", "team_manager", "chair")
STAGES = words.Phrases(
    {
        "enquiries": "{Enquiries}",
        "conference_pending": "{Initial_conference} to be held",
        "child_in_need": "Child in need plan",
        "on_plan": "{Plan}",
        "plan_ended": "Plan ended",
        "closed": "Closed: the plan ended",
        "transfer_in_pending": "Transferred in: the {transfer_in_conference} to be held",
    }
)
SESSION_ENDED = "Your session has ended because you were inactive or your sign-in expired. Sign in again to continue."


# --- helpers the templates use ---


def day(value: str | None) -> str:
    """'2026-12-07' as '7 December 2026' (GOV.UK's date style)."""
    if not value:
        return ""
    try:
        d = date.fromisoformat(value[:10])
    except ValueError:
        return value
    return f"{d.day} {d:%B %Y}"


def words_of(name: str | None) -> str:
    """A code in words: 'physical_abuse' as 'Physical abuse', an event type
    'strategy_discussion.held.v1' as 'Strategy discussion held'."""
    text = re.sub(r"\.v[0-9]+$", "", name or "").replace(".", " ").replace("_", " ").strip()
    return text[:1].upper() + text[1:]


bp.add_app_template_filter(day, "day")
bp.add_app_template_filter(words_of, "words")
bp.add_app_template_global(words.term, "term")
bp.add_app_template_global(words.said, "said")


def _conf() -> dict:
    return current_app.extensions["cpp_web"]


def services() -> Services:
    return _conf()["services"]


def plugins() -> Plugins:
    """The deployment's plugins (CPP_PLUGINS), loaded once per application."""
    conf = _conf()
    if "plugins" not in conf:
        conf["plugins"] = Plugins(conf["settings"].plugins)
    return conf["plugins"]


def authority() -> dict:
    conf = _conf()
    if "authority" not in conf:
        conf["authority"] = plugins().authority()
    return conf["authority"]


def holds(*roles: str) -> bool:
    """Whether the signed-in person holds any of ``roles`` (a person may hold several)."""
    me = session.get("user") or {}
    return any(r in (me.get("roles") or [me.get("role")]) for r in roles)


bp.add_app_template_global(holds, "holds")


def navigation() -> list[dict]:
    """The signed-in person's pages: those of every role they hold."""
    me = session.get("user")
    if not me:
        return []
    endpoint = request.endpoint or ""
    items = []
    if holds(*WORKERS):
        items.append(
            {
                "href": url_for("web.my_work"),
                "text": "My work",
                "active": endpoint in ("web.my_work", "web.case", "web.deadline") or endpoint.startswith("plan."),
            }
        )
    if holds("team_manager"):
        items.append({"href": url_for("team.team"), "text": "Team", "active": endpoint == "team.team"})
        items.append({"href": url_for("team.approvals"), "text": "Approvals", "active": endpoint == "team.approvals"})
    if holds("partner"):
        for target, text, also in (
            ("partner.lookup", "Lookup", ()),
            (
                "partner.subscriptions",
                "Subscriptions",
                (
                    "partner.subscription",
                    "partner.new_subscription",
                    "partner.rotate_secret",
                    "partner.delete_subscription",
                ),
            ),
            ("partner.deliveries", "Deliveries", ()),
        ):
            items.append({"href": url_for(target), "text": text, "active": endpoint in (target, *also)})
    if holds("admin"):
        from .admin import navigation as admin_navigation

        items.extend(admin_navigation(endpoint))
    if holds("auditor") and not holds(*WORKERS, "admin"):  # who is signed in (My work is a worker's home)
        items.append({"href": url_for("web.home"), "text": "Home", "active": endpoint == "web.home"})
    if holds("team_manager", "auditor", "admin"):  # managers' figures and returns
        items.append(
            {"href": url_for("returns.performance"), "text": "Performance", "active": endpoint == "returns.performance"}
        )
        items.append({"href": url_for("returns.census"), "text": "Returns", "active": endpoint == "returns.census"})
    if holds(*WORKERS, "auditor", "admin"):
        items.append(
            {
                "href": url_for("lifecycle.find_child"),
                "text": "Find a child",
                "active": endpoint in ("lifecycle.find_child", "lifecycle.register_child", "lifecycle.child"),
            }
        )
    items.append({"href": url_for("web.sign_out"), "text": "Sign out"})
    return items


@bp.app_context_processor
def page_context() -> dict:
    return {
        "service_name": term("plan", start=True) + "s",  # the service's name: "Care and support protection plans"
        "council": authority()["name"],
        "navigation": navigation(),
        "me": session.get("user"),
        "csp_nonce": g.get("csp_nonce"),
        "demo_notice": demo.NOTICE if demo_seeded() else None,
    }


def demo_seeded() -> bool:
    """Whether this development deployment holds the made-up caseload (demo.py)."""
    conf = _conf()
    if not conf.get("demo_seeded"):  # once seeded it stays so while the application runs (a reset stops it first)
        settings = conf["settings"]
        conf["demo_seeded"] = settings.is_development and demo.seeded(settings.data_dir)
    return conf["demo_seeded"]


def api(service: str, path: str, **params: Any) -> Any:
    """GET a service's resource as the signed-in person."""
    return services().get(
        service,
        path,
        token=session.get("token"),
        request_id=g.get("request_id"),
        params={k: v for k, v in params.items() if v is not None} or None,
    )


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()
CALLS_AT_ONCE = 8  # threads of a worker process for a page's calls made at once


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:  # made on first use: in the worker process, after gunicorn's fork
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=CALLS_AT_ONCE, thread_name_prefix="web-calls")
        return _POOL


def api_at_once(*calls: tuple | None, keep: tuple[type[ServiceError], ...] = ()) -> list[Any]:
    """Independent GETs of one page made at once, as the signed-in person:
    each call ``(service, path)`` or ``(service, path, params)``, or None for
    no call (answered None). Their answers come back in the order given. An
    error of a type in ``keep`` is given back in its answer's place; any
    other is raised once every call has finished (the first in order), as
    ``api`` would have raised it making them one after another."""
    token, request_id = session.get("token"), g.get("request_id")
    sent = services()

    def get(call: tuple | None) -> Any:
        if call is None:
            return None
        service, path, params = (*call, None)[:3]
        try:
            return sent.get(
                service,
                path,
                token=token,
                request_id=request_id,
                params={k: v for k, v in (params or {}).items() if v is not None} or None,
            )
        except keep as exc:
            return exc

    if not calls:
        return []
    # The first in this thread, the others in the pool (each with this request's log context).
    futures = [_pool().submit(contextvars.copy_context().run, get, call) for call in calls[1:]]
    answers: list[Any] = []
    failure: Exception | None = None
    for outcome in [lambda: get(calls[0]), *(f.result for f in futures)]:
        try:
            answers.append(outcome())
        except Exception as exc:  # noqa: BLE001 - raised below, after the other calls finished
            failure = failure or exc
            answers.append(None)
    if failure is not None:
        raise failure
    return answers


def _local_path(target: str | None) -> str | None:
    """A path on this site to go back to after signing in; anything else is dropped."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def signed_in(*roles: str) -> Callable:
    """The page needs a signed-in person (and, with ``roles``, one of these
    roles for its navigation to make sense). An idle session ends here."""

    def wrap(view: Callable) -> Callable:
        @functools.wraps(view)
        def inner(*args: Any, **kwargs: Any):
            idle = _conf()["idle"].total_seconds()
            cookie = request.cookies.get(current_app.config["SESSION_COOKIE_NAME"])
            if "token" not in session:
                if cookie and not session:  # the session was there, and has expired
                    flash(SESSION_ENDED, "expired")
                return redirect(url_for("web.sign_in", next=request.full_path.rstrip("?")))
            if time.time() - session.get("last_seen", 0) > idle:
                end_session()
                flash(SESSION_ENDED, "expired")
                return redirect(url_for("web.sign_in", next=request.full_path.rstrip("?")))
            session["last_seen"] = time.time()
            if not oidc.fresh():  # the access token expired, and could not be renewed
                end_session()
                flash(SESSION_ENDED, "expired")
                return redirect(url_for("web.sign_in", next=request.full_path.rstrip("?")))
            if roles and not holds(*roles):
                return redirect(url_for("web.home"))
            return view(*args, **kwargs)

        return inner

    return wrap


def changed_since_read(
    heading: str, lines: list[str], links: list[tuple[str, str, str]], *, child_name: str | None = None
):
    """The 412 page: a change not saved because someone changed the record
    first; ``links`` are (address, link text, the words after the link)."""
    return render_template("errors/changed.html", heading=heading, lines=lines, links=links, child_name=child_name), 412


def end_session() -> None:
    """Forget everything: the stored session is deleted and the browser's
    session id is never used again (a new one is given when the session next
    holds anything)."""
    if session:
        cast(ServerSideSessionInterface, current_app.session_interface).regenerate(
            session
        )  # deletes the stored one, takes a new id
    session.clear()


# --- sign in and out ---


@bp.get("/")
def home_or_sign_in():
    if "token" in session:
        return redirect(
            url_for("web.my_work")
            if holds(*WORKERS)
            else url_for("partner.lookup")
            if holds("partner")
            else url_for("admin.subscriptions")
            if holds("admin")
            else url_for("web.home")
        )
    return redirect(url_for("web.sign_in"))


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    settings = _conf()["settings"]
    if not settings.is_development:  # the organisation's identity provider (oidc.py)
        return oidc.sign_in_page(_local_path(request.args.get("next")))
    form = SignInForm()
    next_path = _local_path(request.args.get("next"))
    if form.validate_on_submit():
        person = people.by_user(form.person.data)
        key = settings.dev_signing_key_file
        if not key.exists():
            form.person.errors.append(
                f"Signing in is not possible yet: there is no development signing key at {key.resolve()}. "
                "Start the platform with make run, or set CPP_DATA_DIR to the folder the services use."
            )
        else:
            try:
                token = issue_dev_token(
                    settings,
                    role=person.role,
                    authority=authority()["code"],
                    user=person.user,
                    name=person.name,
                    email=person.email,
                    team=person.team,
                    manager=person.manager,
                    create_key=False,
                )
            except (ConfigError, ValueError) as exc:
                form.person.errors.append(f"Signing in is not possible: {exc}")
            else:
                end_session()  # a new session id at sign-in: a session id known before it is worth nothing
                session.update(
                    token=token,
                    last_seen=time.time(),
                    user={
                        "user": person.user,
                        "name": person.name,
                        "role": person.role,
                        "roles": [person.role],
                        "role_name": person.role_name,
                        "team": person.team,
                    },
                )
                return redirect(next_path or url_for("web.home_or_sign_in"))
    return render_template(
        "sign_in.html", form=form, people=people.PEOPLE, holdings=demo.holdings() if demo_seeded() else None
    ), (400 if form.errors else 200)


@bp.route("/sign-out", methods=["GET", "POST"])
def sign_out():
    id_token = session.get("id_token")
    end_session()
    session["signed_out"] = True
    flash("You have signed out.", "success")
    # Production: signed out at the identity provider too (RP-initiated logout), which sends the person back here.
    return redirect(oidc.sign_out_address(id_token) or url_for("web.sign_in"))


@bp.get("/home")
@signed_in()
def home():
    if holds("partner"):  # a partner's pages start at the lookup
        return redirect(url_for("partner.lookup"))
    return render_template("home.html")


# --- my work ---


def _days_between(earlier: str, later: date) -> int:
    return (later - date.fromisoformat(earlier[:10])).days


OPEN = ("pending", "approaching", "overdue")


def is_overdue(d: dict, today: date | None = None) -> bool:
    """Overdue as of today, also before the scheduler's next tick marks it:
    open, and past its due date (a range rule's latest)."""
    last = d.get("latest_on") or d.get("due_on")
    return d.get("status") == "overdue" or (
        d.get("status") in OPEN and last is not None and last < (today or date.today()).isoformat()
    )


def status_words(d: dict) -> str:
    return "Overdue" if is_overdue(d) else (d.get("status") or "").replace("_", " ").capitalize()


bp.add_app_template_filter(status_words, "status_words")


@bp.get("/my-work")
@signed_in(*WORKERS)
def my_work():
    cases, deadlines = api_at_once(
        ("plans", "/v1/cases", {"worker": "me", "page_size": 100}),
        ("scheduler", "/v1/deadlines", {"assignee": "me", "status": "open", "page_size": 200}),
    )
    today = date.today()
    week = today + timedelta(days=7)
    overdue, due_soon = [], []
    for d in deadlines["items"]:
        if not d.get("due_on"):
            continue
        if is_overdue(d, today):
            overdue.append({**d, "days_overdue": _days_between(d.get("latest_on") or d["due_on"], today)})
        elif d["due_on"] <= week.isoformat():
            due_soon.append(d)
    overdue.sort(key=lambda d: (d["due_on"], d.get("name") or ""))  # most overdue first
    due_soon.sort(key=lambda d: (d["due_on"], d.get("name") or ""))
    return render_template(
        "my_work.html",
        cases=cases["items"],
        cases_total=cases.get("total", 0),
        overdue=overdue,
        due_soon=due_soon,
        today=today.isoformat(),
    )


# --- a case ---


def _conferences(case: dict, kind: str) -> list[dict]:
    return [c for c in case.get("conferences") or [] if c.get("kind") == kind]


def lifecycle(case: dict, plan: dict | None) -> list[dict]:
    """The case's steps in order, each with its status as the task list shows it."""
    done, todo, later = "Completed", "Not yet started", "Cannot start yet"
    outcome = case.get("enquiry_outcome")
    initial = _conferences(case, "initial")
    reviews = _conferences(case, "review")
    plan_status = (plan or {}).get("status")
    ended = plan_status == "ended" or case.get("status") == "plan_ended" or case.get("step_down")

    titles = {
        "strategy_discussion": "Strategy discussion",
        "enquiry_outcome": f"Outcome of the {term('enquiries')}",
        "initial_conference": term("initial_conference", start=True),
        "initial_outcome": "Outcome and outline plan",
        "first_core_group": f"First {term('core_group')} meeting",
        "visits": "Visits",
        "reviews": term("review_conference", start=True) + "s",
        "ending": "Ending or step-down",
    }

    def step(key: str, status: str, hint: str | None = None) -> dict:
        return {"key": key, "title": titles[key], "status": status, "hint": hint}

    steps = [step("strategy_discussion", done if case.get("strategy_discussions") else todo)]
    if outcome:
        steps.append(
            step(
                "enquiry_outcome",
                done,
                "Conference required" if outcome.get("conference_required") else "No conference needed",
            )
        )
    else:
        steps.append(step("enquiry_outcome", todo if case.get("strategy_discussions") else later))
    if outcome and not outcome.get("conference_required"):
        steps.append(step("initial_conference", "Not needed"))
    elif any(c.get("status") == "held" for c in initial):
        steps.append(step("initial_conference", done))
    elif any(c.get("status") == "scheduled" for c in initial):
        steps.append(step("initial_conference", "Scheduled"))
    else:
        steps.append(step("initial_conference", todo if outcome else later))
    steps.append(
        step(
            "initial_outcome", done if case.get("plan_id") or any(c.get("status") == "held" for c in initial) else later
        )
    )
    if plan_status in ("active", "ended"):
        steps.append(step("first_core_group", done))
    else:
        steps.append(step("first_core_group", todo if plan_status == "outline" else later))
    steps.append(step("visits", "In progress" if plan_status == "active" else (done if ended and plan else later)))
    held_reviews = sum(1 for c in reviews if c.get("status") == "held")
    if any(c.get("status") == "scheduled" for c in reviews):
        steps.append(step("reviews", "Scheduled", f"{held_reviews} held"))
    elif held_reviews:
        steps.append(step("reviews", done if ended else "In progress", f"{held_reviews} held"))
    else:
        steps.append(step("reviews", later if not plan else todo))
    steps.append(step("ending", done if ended else later))
    return steps


@bp.get("/cases/<case_id>")
@signed_in()
def case(case_id: str):
    record = api("plans", f"/v1/cases/{case_id}")
    child = api("plans", f"/v1/children/{record['child_id']}")
    plan = None
    if record.get("plan_id"):
        try:
            plan = api("plans", f"/v1/plans/{record['plan_id']}")
        except NotFound:
            plan = None
    deadlines = api("scheduler", "/v1/deadlines", case_id=case_id, page_size=200)["items"]
    from .families import families_of  # the child's family, linked from the case
    from .journey import case_extras, journey_steps  # the review, the ending and the step-down
    from .lifecycle import VISITED_BEFORE_A_PLAN, link_steps  # each step's form

    extras = case_extras(record, plan)
    steps = journey_steps(record, plan, link_steps(record, lifecycle(record, plan)), extras["cin_plans"])
    return render_template(
        "case.html",
        case=record,
        child=child,
        plan=plan,
        deadlines=deadlines,
        steps=steps,
        stages=STAGES,
        child_name=child_name(child),
        families=families_of(record["child_id"]),
        visited_before_a_plan=VISITED_BEFORE_A_PLAN,
        **extras,
    )


def child_name(child: dict) -> str:
    name = " ".join(p for p in (child.get("given_names"), child.get("family_name")) if p)
    return name or child.get("name") or "Unnamed child"


# --- a deadline ---


@bp.get("/deadlines/<deadline_id>")
@signed_in()
def deadline(deadline_id: str):
    record = api("scheduler", f"/v1/deadlines/{deadline_id}")
    return render_template("deadline.html", deadline=record, explanation=record.get("explanation") or {})
