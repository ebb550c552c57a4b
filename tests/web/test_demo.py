"""The made-up caseload (cpp_web/demo.py): the plan's shape (every stage, the
right person for each step, dates that make deadlines due, overdue and met),
its seeding against a played plans service (run again, or cut off and run
again, it makes nothing twice), `cpp demo` and the sign-in page."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from itertools import count

import pytest
from click.testing import CliRunner

from cpp_web import commands, demo, people
from tests.web.fakes import Fake
from tests.web.test_web_app import app, csrf_of, settings  # noqa: F401 (fixtures)

TODAY = date(2026, 3, 11)  # a Wednesday
DATE_FIELDS = ("held_on", "completed_on", "visited_on", "on", "drafted_on", "created_on")


def by_stage() -> dict[str, tuple]:
    return {f.stage: (f, steps) for f, steps in demo.plan(TODAY)}


def step(steps, name):
    return next(s for s in steps if s.name == name)


# --- the plan's shape ---


def test_each_social_worker_has_work_overdue_and_due_this_week():
    for user in ("demo-sw-1", "demo-sw-2"):
        stages = {f.stage for f in demo.CASELOAD if f.worker == user}
        assert stages & {"initial_overdue", "core_group_overdue"}, user
        assert stages & {"enquiries_due", "outline_plan"}, user


def test_ten_children_of_made_up_families_cover_every_stage():
    families = demo.CASELOAD
    assert 8 <= len(families) <= 12
    assert {f.stage for f in families} == set(demo.STAGES)
    made_up = {
        "Example",
        "Sample",
        "Fictional",
        "Madeup",
        "Pretend",
        "Imaginary",
        "Storybook",
        "Invented",
        "Placeholder",
        "Specimen",
    }
    assert {f.family_name for f in families} <= made_up
    assert len({f.key for f in families}) == len({f.name for f in families}) == len(families)
    workers = {f.worker for f in families}
    assert workers == {p.user for p in people.PEOPLE if p.role == "social_worker"}


def test_each_step_is_taken_by_the_role_the_service_expects():
    roles = {p.user: p.role for p in people.PEOPLE}
    for family, steps in demo.plan(TODAY):
        names = [s.name for s in steps]
        assert len(names) == len(set(names)), family.name  # each its own Idempotency-Key
        assert names[:2] == ["child", "case"] and steps[1].user == family.worker
        for s in steps:
            role = roles[s.user]
            if s.path.endswith("/outcome"):
                assert role == "chair"
            elif s.path.endswith("/countersign"):
                assert role == "team_manager"
            else:
                assert s.user == family.worker, (family.name, s.name)
            assert s.create == (
                s.path.endswith(
                    (
                        "/children",
                        "/cases",
                        "/strategy-discussions",
                        "/conferences",
                        "/outcome",
                        "/reports",
                        "/core-group-meetings",
                        "/visits",
                        "/child-in-need-plans",
                    )
                )
            ), s.name


def test_nothing_is_recorded_as_held_in_the_future_and_conferences_name_the_chair():
    for family, steps in demo.plan(TODAY):
        for s in steps:
            for name in DATE_FIELDS:
                if name in s.body:
                    assert date.fromisoformat(s.body[name]) <= TODAY, (family.name, s.name, name)
            if s.path.endswith("/conferences"):
                assert s.body["chair"] == demo.CHAIR


def test_deadlines_fall_due_this_week_overdue_and_met():
    stages = by_stage()
    fifteen = lambda held: demo.working_day(date.fromisoformat(held), 15)  # noqa: E731 (England's initial conference)
    _, steps = stages["enquiries_due"]
    due = fifteen(step(steps, "strategy").body["held_on"])
    assert TODAY < due <= TODAY + timedelta(days=7)
    _, steps = stages["initial_overdue"]
    assert fifteen(step(steps, "strategy").body["held_on"]) < TODAY - timedelta(days=7)
    assert not any(s.path.endswith("/conferences") for s in steps)
    _, steps = stages["outline_plan"]  # the conference was held in time; the first core group is due this week
    held = date.fromisoformat(step(steps, "initial-outcome").body["held_on"])
    assert held <= fifteen(step(steps, "strategy").body["held_on"])
    assert TODAY < demo.working_day(held, 10) <= TODAY + timedelta(days=7)
    _, steps = stages["core_group_overdue"]
    assert demo.working_day(date.fromisoformat(step(steps, "initial-outcome").body["held_on"]), 10) < TODAY
    assert not any("core-group" in s.name for s in steps)


def test_a_report_waits_for_countersigning_and_another_went_the_whole_way():
    _, waiting = by_stage()["conference_scheduled"]
    assert waiting[-1].name == "report-submit"
    _, done = by_stage()["outline_plan"]
    names = [s.name for s in done]
    assert names.index("report-send") < names.index("initial-outcome")


def test_the_plans_are_active_continued_and_ended_with_a_step_down():
    stages = by_stage()
    _, active = stages["active_plan"]
    assert step(active, "core-group-1").body["detailed_plan_agreed"] is True
    assert sum(s.path.endswith("/visits") for s in active) >= 3
    assert step(active, "review").body["scheduled_for"] > TODAY.isoformat()
    _, reviewed = stages["reviewed_plan"]
    assert step(reviewed, "review-outcome").body["decision"] == "continue"
    _, ended = stages["plan_ended"]
    assert step(ended, "review-2-outcome").body["decision"] == "end"
    assert ended[-1].path.endswith("/child-in-need-plans")
    _, cin = stages["no_conference"]
    assert step(cin, "enquiry-outcome").body["conference_required"] is False


REFERRAL_STEPS = ("referral", "referral-decision", "assessment", "assessment-completion")


def test_some_cases_began_with_a_referral_decided_and_an_assessment_started_and_one_completed():
    with_referral = {}
    for family, steps in demo.plan(TODAY):
        names = [s.name for s in steps]
        taken = [n for n in REFERRAL_STEPS if n in names]
        if not taken:
            continue
        with_referral[family.stage] = taken
        assert names[2 : 2 + len(taken)] == taken and names[2 + len(taken)] == "strategy", family.name
        days = [
            date.fromisoformat(v) for s in steps[2 : 3 + len(taken)] for k, v in s.body.items() if k.endswith("_on")
        ]
        assert days == sorted(days) and days[-1] <= TODAY, family.name  # in order, none in the future
        for s in steps[2 : 2 + len(taken)]:
            assert s.if_match == "/v1/cases/{case}" and s.path.startswith("/v1/cases/{case}/") and not s.create
        received = date.fromisoformat(step(steps, "referral").body["received_on"])
        assert step(steps, "referral-decision").body["decided_on"] == demo.working_day(received, 1).isoformat()
        if "assessment-completion" in taken:
            completion = step(steps, "assessment-completion").body
            assert completion["authorised_by"] == demo.TM
            assert date.fromisoformat(completion["completed_on"]) <= demo.working_day(received, 45)  # met in time
    assert len(with_referral) >= 3
    assert all(taken[:3] == ["referral", "referral-decision", "assessment"] for taken in with_referral.values())
    assert sum("assessment-completion" in taken for taken in with_referral.values()) == 1


def test_nhs_numbers_are_of_the_made_up_range_and_valid():
    numbers = [json.dumps(steps[0].body["identifiers"]) for _, steps in demo.plan(TODAY)]
    assert len(set(numbers)) == len(numbers)
    for n in range(len(demo.CASELOAD)):
        number = demo.nhs_number(n)
        assert number.startswith("999") and len(number) == 10
        total = sum(int(c) * w for c, w in zip(number[:9], range(10, 1, -1)))
        assert (11 - total % 11) % 11 == int(number[9])


def test_who_holds_what():
    held = demo.holdings()
    assert len(held["demo-sw-1"]) + len(held["demo-sw-2"]) == len(demo.CASELOAD)
    assert "Noah Madeup" in held["demo-sw-1"] and "Ava Example" in held["demo-sw-2"]
    assert len(held["demo-tm-1"]) == len(demo.CASELOAD)
    assert "Leo Sample" not in held["demo-chair-1"] and "Ruby Storybook" in held["demo-chair-1"]
    assert held["demo-partner-1"] == [] and held["demo-admin-1"] == []


def test_working_days_skip_weekends():
    friday = date(2026, 3, 13)
    assert demo.working_day(friday, 1) == date(2026, 3, 16)
    assert demo.working_day(date(2026, 3, 16), -1) == friday
    assert demo.working_day(date(2026, 3, 14), 0) == friday  # a Saturday counts from the Friday


# --- seeding against a played plans service ---


class AnyPath(dict):
    """Every request to one function."""

    def __init__(self, handler):
        super().__init__()
        self.handler = handler

    def get(self, key, default=None):
        return self.handler


class PlayedPlans:
    """Creates answer a new id, replayed for an Idempotency-Key seen before;
    a step taken twice is a 409. ``fail`` makes one path answer a status."""

    def __init__(self):
        self.ids = count(1)
        self.kept: dict[str, tuple] = {}
        self.steps: set[str] = set()
        self.made: list[str] = []
        self.fail: dict[str, int] = {}
        self.commit_then_fail: set[str] = set()

    def __call__(self, seen):
        path, key = seen["path"], seen["headers"].get("Idempotency-Key")
        if seen["method"] == "GET":
            return 200, {"user": "me"}
        for part, status in self.fail.items():
            if path.endswith(part):
                return status, {"code": status, "message": "played failure"}
        if key:
            if key not in self.kept:
                new = f"id-{next(self.ids)}"
                self.made.append(path)
                body = {"plan": {"id": f"plan-{new}"}} if path.endswith("/outcome") else {"id": new}
                self.kept[key] = (201, body)
            answer = self.kept[key]
        elif path in self.steps:
            answer = (409, {"code": 409, "message": "already taken"})
        else:
            self.steps.add(path)
            answer = (200, {})
        if any(path.endswith(p) for p in self.commit_then_fail):
            return 503, {"code": 503, "message": "cut off after committing"}
        return answer


@pytest.fixture
def played():
    plans = PlayedPlans()
    fake = Fake(routes=AnyPath(plans)).start()
    yield plans, fake
    fake.stop()


def seeder(fake, tmp_path):
    return demo.Seeder({"plans": fake.url}, lambda user: f"token-of-{user}", tmp_path, say=lambda _: None, pause=0)


def test_seeding_twice_makes_nothing_the_second_time(played, tmp_path):
    plans, fake = played
    first = seeder(fake, tmp_path).run()
    assert (tmp_path / demo.MARKER).exists()
    every = sum(len(steps) for _, steps in demo.plan(date.today()))
    creates = sum(s.create for _, steps in demo.plan(date.today()) for s in steps)
    assert len(plans.made) == creates and len([r for r in fake.requests if r["method"] == "POST"]) == every
    assert set(first) == {f.key for f in demo.CASELOAD} and all("case" in r for r in first.values())
    # Every person is in the staff directory before anyone names them.
    gets = [r for r in fake.requests if r["method"] == "GET"]
    assert {r["headers"]["Authorization"] for r in gets} >= {
        "Bearer token-of-demo-chair-1",
        "Bearer token-of-demo-sw-2",
    }
    posts = len(fake.requests)
    again = seeder(fake, tmp_path).run()
    assert again == first
    assert [r["method"] for r in fake.requests[posts:]] == ["GET"] * len(gets)  # nothing sent again


def test_a_seeding_cut_off_goes_on_where_it_stopped_and_makes_nothing_twice(played, tmp_path):
    plans, fake = played
    plans.fail["/visits"] = 422  # the first visit stops it
    with pytest.raises(demo.SeedError, match="422"):
        seeder(fake, tmp_path).run()
    assert not (tmp_path / demo.MARKER).exists()
    made = list(plans.made)
    # A create and a step each cut off after committing: sent again, the create with its key, the step refused.
    plans.fail.clear()
    plans.commit_then_fail = {"/visits", "/enquiry-outcome"}
    with pytest.raises(demo.SeedError, match="503"):
        seeder(fake, tmp_path).run()
    plans.commit_then_fail.clear()
    seeder(fake, tmp_path).run()
    assert (tmp_path / demo.MARKER).exists()
    assert plans.made[: len(made)] == made
    assert len(plans.made) == sum(s.create for _, steps in demo.plan(date.today()) for s in steps)
    keys = [r["headers"]["Idempotency-Key"] for r in fake.requests if r["path"].endswith("/visits")]
    assert len(keys) > len(set(keys))  # the cut-off visit was sent again with its key, and made once


def test_a_step_refused_that_was_never_tried_is_an_error(played, tmp_path):
    plans, fake = played
    plans.fail["/enquiry-outcome"] = 409
    with pytest.raises(demo.SeedError, match="409"):
        seeder(fake, tmp_path).run()


class PlayedCases(PlayedPlans):
    """As PlayedPlans, and each case keeps its revision, as the plans service
    does: a create answers its ETag, a step on the case (the referral, the
    assessment) needs If-Match naming the revision (428 without, 412 for an
    older one) and answers the next, and a read of the case gives its version."""

    STEPS = ("/referral", "/referral/decision", "/assessment", "/assessment/completion")

    def __init__(self):
        super().__init__()
        self.revisions: dict[str, int] = {}

    def tagged(self, case_id: str, status: int = 200):
        revision = self.revisions[case_id]
        return status, {"id": case_id, "version": revision}, {"ETag": f'"{revision}"'}

    def __call__(self, seen):
        path, method = seen["path"], seen["method"]
        parts = path.split("/")  # "", "v1", "cases", the case's id, the step...
        if method == "POST" and path == "/v1/cases":
            status, body = super().__call__(seen)
            self.revisions.setdefault(body["id"], 1)
            return self.tagged(body["id"], status) if status == 201 else (status, body)
        if len(parts) < 4 or parts[2] != "cases" or parts[3] not in self.revisions:
            return super().__call__(seen)
        case_id = parts[3]
        if method == "GET":  # as the plans service: the case with its version, no ETag header
            return 200, {"id": case_id, "version": self.revisions[case_id]}
        if not path.endswith(self.STEPS):
            return super().__call__(seen)
        given = seen["headers"].get("If-Match")
        if given is None:
            return 428, {"code": 428, "message": "If-Match is missing"}
        if given != f'"{self.revisions[case_id]}"':
            return 412, {"code": 412, "message": "the case changed"}
        fresh = path not in self.steps
        status, body = super().__call__(seen)
        if fresh and path in self.steps:  # taken (even when cut off after)
            self.revisions[case_id] += 1
        return self.tagged(case_id) if status == 200 else (status, body)


@pytest.fixture
def played_cases():
    plans = PlayedCases()
    fake = Fake(routes=AnyPath(plans)).start()
    yield plans, fake
    fake.stop()


def referral_steps(fake) -> list[dict]:
    return [r for r in fake.requests if r["method"] == "POST" and r["path"].endswith(PlayedCases.STEPS)]


def test_each_step_on_a_case_sends_the_revision_its_last_answer_gave(played_cases, tmp_path):
    plans, fake = played_cases
    results = seeder(fake, tmp_path).run()
    sent = referral_steps(fake)
    per_family = {f.key: sum(s.name in REFERRAL_STEPS for s in steps) for f, steps in demo.plan(date.today())}
    assert sent and len(sent) == sum(per_family.values())
    assert all(r["headers"].get("If-Match") for r in sent)
    assert not [r for r in fake.requests if r["method"] == "GET" and r["path"].startswith("/v1/cases/")]
    for key, taken in per_family.items():
        assert plans.revisions[results[key]["case"]] == 1 + taken  # each step taken once, none refused


def test_a_step_on_a_case_cut_off_after_it_committed_reads_the_case_again_and_goes_on(played_cases, tmp_path):
    plans, fake = played_cases
    plans.commit_then_fail = {"/referral/decision"}
    with pytest.raises(demo.SeedError, match="503"):
        seeder(fake, tmp_path).run()
    plans.commit_then_fail.clear()
    before = len(fake.requests)
    results = seeder(fake, tmp_path).run()  # a new run: it knows no revision, and the decision was taken
    assert (tmp_path / demo.MARKER).exists()
    case_id = results["leo"]["case"]
    after = [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in fake.requests[before:] if case_id in r["path"]]
    assert after[:3] == [("POST", "decision"), ("GET", case_id), ("POST", "decision")]  # 428, read, refused: taken
    assert plans.revisions[case_id] == 4  # opened, referral, decision, assessment: each once


# --- cpp demo ---


def run_demo(monkeypatch, tmp_path, *args, **env):
    for name, value in {"CPP_MODE": "development", "CPP_DATA_DIR": str(tmp_path), **env}.items():
        monkeypatch.setenv(name, value)
    return CliRunner().invoke(commands.demo, list(args))


def test_cpp_demo_is_for_development_only(monkeypatch, tmp_path):
    result = run_demo(monkeypatch, tmp_path, "--reset", "--yes", CPP_MODE="production")
    assert result.exit_code == 2 and "development only" in result.output


def test_if_new_does_nothing_with_cpp_demo_0_or_once_seeded(monkeypatch, tmp_path):
    monkeypatch.setattr(commands, "seed", lambda *a, **k: pytest.fail("seeded"))
    result = run_demo(monkeypatch, tmp_path, "--if-new", CPP_DEMO="0")
    assert result.exit_code == 0 and "starting empty" in result.output
    (tmp_path / demo.MARKER).write_text("{}")
    result = run_demo(monkeypatch, tmp_path, "--if-new", CPP_DEMO="1")
    assert result.exit_code == 0 and "already" in result.output


def test_reset_refuses_while_the_platform_runs(monkeypatch, tmp_path):
    monkeypatch.setattr(commands, "_running", lambda settings: ["plans", "web"])
    (tmp_path / "plans.db").write_text("x")
    result = run_demo(monkeypatch, tmp_path, "--reset", "--yes")
    assert result.exit_code == 2 and "stop it first" in result.output
    assert (tmp_path / "plans.db").exists()


def test_reset_removes_the_data_folders_stores_and_keeps_its_keys(monkeypatch, tmp_path):
    monkeypatch.setattr(commands, "_running", lambda settings: [])
    doomed = [
        "plans.db",
        "plans.db-wal",
        "plans.db-write-turn",
        "plans-limits.db",
        "scheduler.db",
        "notify.db",
        "docs.db",
        "web-sessions.db",
        demo.STATE,
        demo.MARKER,
        "audit-checkpoints/plans.jsonl",
    ]
    kept = ["dev-signing.key", "web-secret.key", "audit-checkpoints/keys/plans.key", "log/plans-web.log"]
    for name in doomed + kept + ["docs/abc"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    result = run_demo(monkeypatch, tmp_path, "--reset")  # asked, and the answer is no
    assert result.exit_code == 1 and (tmp_path / "plans.db").exists()
    result = run_demo(monkeypatch, tmp_path, "--reset", "--yes")
    assert result.exit_code == 0, result.output
    assert "seeds the made-up caseload" in result.output
    assert not any((tmp_path / name).exists() for name in doomed + ["docs"])
    assert all((tmp_path / name).exists() for name in kept)


def test_reset_leaves_a_store_outside_the_data_folder_alone(monkeypatch, tmp_path):
    monkeypatch.setattr(commands, "_running", lambda settings: [])
    result = run_demo(monkeypatch, tmp_path, "--reset", "--yes", CPP_PLANS_STORE_URL="mongodb://db/plans")
    assert result.exit_code == 2 and "only the data folder's stores" in result.output


# --- the sign-in page ---


def test_the_sign_in_page_lists_whose_cases_are_whose_once_seeded(app, settings):  # noqa: F811
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    assert demo.NOTICE not in page and "children (" not in page
    (settings.data_dir / demo.MARKER).write_text("{}")
    page = client.get("/sign-in").get_data(as_text=True)
    assert demo.NOTICE in page and 'id="demo-notice"' in page
    sam = len(demo.holdings()["demo-sw-1"])
    assert re.search(rf"Social worker, Area North: {sam} children \(Leo Sample, Isla Fictional", page)
    assert f"Team manager, Area North: {len(demo.CASELOAD)} children" in page
    assert page.index("Sam Okafor") < page.index("Jordan Reid") < page.index("Priya Shah") < page.index("Morgan Ellis")
    # Signed in, every page says so too.
    client.post("/sign-in", data={"csrf_token": csrf_of(page), "person": "demo-admin-1"})
    assert demo.NOTICE in client.get("/home").get_data(as_text=True)
