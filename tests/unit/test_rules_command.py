"""`cpp rules`: the effective timetable of a plugin set, as a table a
council's manager reads, and as JSON for machines."""

from __future__ import annotations

import ast
import json
import re

import pytest
from click.testing import CliRunner

from cpp_scheduler.commands import COLUMNS, grades, rules
from cpp_shared.hookspecs import hookimpl

# What a Python value or an event type looks like in text.
PYTHON = [
    (re.compile(r"[{}\[\]]"), "a dict or list bracket"),
    (re.compile(r"(?<!\w)'[^'\n]*'(?!\w)"), "a quoted string (an apostrophe inside a word is English)"),
    (re.compile(r"\b(True|False|None)\b"), "a Python constant"),
    (re.compile(r"\b[a-z_]+\.[a-z_]+\.v\d+\b"), "an event type"),
    (re.compile(r"\b[a-z]+_[a-z_]+\b"), "a snake_case field or value name"),
    (re.compile(r"\bseeds? \d|\.md\b|\.py\b", re.IGNORECASE), "an internal file or seed reference"),
]


def _literals(text: str) -> list[str]:
    """Every fragment of ``text`` that reads as Python: a pattern above, or
    a run of words ast parses as a dict, list, set or string literal."""
    found = [f"{why}: {m.group(0)!r}" for pattern, why in PYTHON for m in pattern.finditer(text)]
    for line in text.splitlines():
        # a quotation in double quotes is English; an apostrophe after a letter is too
        for start in (i for i, ch in enumerate(line) if ch in "{['" and not (i and line[i - 1].isalnum())):
            for end in range(len(line), start, -1):
                try:
                    node = ast.parse(line[start:end], mode="eval").body
                except (SyntaxError, ValueError):
                    continue
                if isinstance(node, (ast.Dict, ast.List, ast.Set)) or (
                    isinstance(node, ast.Constant) and line[start] == "'"
                ):
                    found.append(f"a literal: {line[start:end]!r}")
                break
    return found


def _table(plugins: str) -> str:
    result = CliRunner().invoke(rules, ["--plugins", plugins])
    assert result.exit_code == 0, result.output
    return result.output


def _rows(output: str) -> list[dict[str, str]]:
    """The table read back: each step's cells, unwrapped, and its source."""
    lines = output.splitlines()
    top = next(i for i, line in enumerate(lines) if line.startswith("Step "))
    rows, cells, source = [], None, None
    for line in lines[top + 2 :]:
        if line.startswith("Grades of the sources"):
            break
        if not line.strip():
            if cells:
                rows.append(
                    {
                        **{name: " ".join(" ".join(c).split()) for (name, _), c in zip(COLUMNS, cells)},
                        "Source": " ".join(source.split()),
                    }
                )
            cells, source = None, None
        elif line.startswith("  Source") or source is not None:
            source = (source or "") + " " + line
        else:
            cells = cells or [[] for _ in COLUMNS]
            at = 0
            for i, (_, width) in enumerate(COLUMNS):
                cells[i].append(line[at : at + width])
                at += width + 2
    return rows


def test_the_literal_check_finds_what_the_old_table_printed():
    old = "    when:   strategy_discussion.held.v1 {'initiated_enquiries': True}\n    met by: ['conference.held.v1']"
    assert len(_literals(old)) >= 4
    assert _literals("Children's Convenor and the Islands' own procedures (V: seen)") == []


@pytest.mark.parametrize("plugins", ["guernsey", "england,bromley", "england,greenwich", "scotland", "england"])
def test_the_table_has_no_python_literal_event_name_or_internal_reference(plugins):
    output = _table(plugins)
    assert _literals(output) == []


def test_guernsey_table_says_each_step_who_when_how_and_the_source_with_its_grade():
    output = _table("guernsey")
    assert "Timescales of States of Guernsey" in output
    rows = {row["Step"]: row for row in _rows(output)}
    assert len(rows) == 17
    assert rows["Assessment"]["When"].startswith(
        "45 working days after the referral. Starts when the referral is decided on for an assessment or a "
        "strategy discussion. Done when the assessment is completed."
    )
    review = rows["First review child protection conference"]
    assert review["By whom"] == "Conference chair"
    assert review["When"].startswith(
        "3 months after the initial or transfer-in conference. Starts when an initial or transfer-in conference is "
        "held that decides the child needs a plan. Done when a review conference is held."
    )
    assert review["Counted how"].startswith("Calendar months")
    assert review["Source"].startswith(
        "Source (grade V; from the guernsey plugin): Guernsey child protection procedures, Child Protection Plan:"
    )
    enquiries = rows["Initial child protection conference"]
    # in Guernsey's words: its enquiries are under section 35 of the Children Law
    assert "Starts when a strategy discussion is held that starts section 35 enquiries" in enquiries["When"]
    assert "Not needed when the section 35 enquiries are completed with no conference needed" in enquiries["When"]
    assert enquiries["By whom"] == "Social worker (the key worker once there is a plan)"
    assert enquiries["Counted how"].startswith("Working days: weekends, public holidays")
    assert (
        "Done when the review report is passed to the manager"
        in rows["Child protection plan updated and included in the review report"]["When"]
    )
    assert "Not needed when that conference is cancelled" in rows["Report sent to the conference chair"]["When"]
    assert (
        "Starts when an escalation is raised to refer to the Children's Convenor"
        in rows["Referral to the Children's Convenor"]["When"]
    )
    panel = rows["Resource panel approval of the plan (no timescale set)"]
    assert panel["When"].startswith("No timescale in the source: a manager gives each one a date")
    flat = " ".join(output.split())
    assert "public holidays of Guernsey" in flat
    assert "Grades of the sources: V: the primary source was seen" in flat
    assert "V2: only a local restatement" in flat and "U: not verified" in flat


def test_the_council_layer_overrides_the_jurisdiction_and_every_rule_shows_its_source():
    output = _table("england,bromley")
    assert "Timescales of London Borough of Bromley" in output
    rows = {row["Step"]: row for row in _rows(output)}
    # England's 8 (with the visits) and its 4 pre-proceedings steps, two changed, and Bromley's pre-birth plan's
    # first review (10 or 20 days)
    assert len(rows) == 14
    letter = rows["Letter before proceedings sent (no confirmed timescale)"]
    assert letter["When"].startswith("No timescale in the source: a manager gives each one a date.")
    assert (
        "Starts when a step of the escalation is recorded on the legal planning route for the legal planning "
        "meeting's decision that decides on pre-proceedings. Done when a step of the escalation is recorded for the "
        "letter before proceedings." in letter["When"]
    )
    assert rows["Transfer-in child protection conference"]["When"].startswith(
        "15 working days after the notification of the permanent move."
    )
    unfit = rows[
        "First review conference of a pre-birth plan, the mother unfit to attend (within 20 days of the birth)"
    ]
    assert (
        unfit["When"].startswith("20 calendar days after the birth.") and "mother unfit to attend: yes" in unfit["When"]
    )
    assert rows["Decision on the referral"]["When"].startswith("1 working day after the referral.")
    core = rows["First core group meeting (Bromley: within ten working days of the conference)"]
    assert core["Source"].startswith(
        "Source (grade V, V2, U; from the bromley plugin): Bromley Safeguarding Children Board"
    )
    assert rows["Initial child protection conference"]["Source"].startswith(
        "Source (grade V, V2; from the england plugin): Working Together"
    )


def test_a_recurring_rule_says_how_it_repeats():
    rows = {row["Step"]: row for row in _rows(_table("england,greenwich"))}
    assert rows["Core group meeting"]["When"].startswith(
        "14 calendar days after the initial or transfer-in conference, then every 6 to 9 weeks after the last core "
        "group meeting, or as often as the plan states, no less often."
    )
    assert rows["Core group meeting"]["Counted how"] == (
        "Calendar days for the first, weeks for the repeats: a date "
        "on a closed day moves back to the working day before."
    )


def test_grades_are_read_from_the_citation():
    assert grades("Working Together 2023 (V: DfE statistics; anchor V2: Tees CPP 1.1)") == ["V", "V2"]
    assert grades("a figure (U)") == ["U"]
    assert grades("Children's Hearings (Scotland) Act 2011, s.60") == []


def test_json_lists_the_rules_as_the_api_does():
    result = CliRunner().invoke(rules, ["--plugins", "guernsey", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    by_id = {r["id"]: r for r in body["rules"]}
    assert body["authority"] == "GSY"
    assert by_id["resource-panel"]["offset"] is None
    assert by_id["report-to-chair"]["offset"] == {"amount": 1, "unit": "working_days", "direction": "before"}
    assert by_id["initial-conference"]["trigger"] == ["strategy_discussion.held.v1"]
    assert by_id["initial-conference"]["when"] == {"initiated_enquiries": True}


def test_an_unknown_plugin_is_refused_by_name():
    result = CliRunner().invoke(rules, ["--plugins", "england,bromly"])
    assert result.exit_code == 2
    assert "bromly" in result.output


def test_northern_ireland_table_reads_in_its_own_terms_with_the_unverified_steps_needing_a_date():
    output = _table("northern_ireland")
    # The plugin's name, as CPP_PLUGINS spells it, is the one word with an underscore a manager reads.
    assert "Plugins, in order: northern_ireland." in output
    assert _literals(output.replace("northern_ireland", "Northern Ireland")) == []
    assert "Timescales of Northern Ireland (SBNI Regional Core Policies and Procedures defaults)" in output
    assert "public holidays of Northern Ireland" in " ".join(output.split())
    rows = {row["Step"]: row for row in _rows(output)}
    assert len(rows) == 8
    conference = rows["Initial child protection case conference (timescale unverified: a date is needed)"]
    assert conference["When"].startswith("No timescale in the source: a manager gives each one a date.")
    assert conference["Source"].startswith("Source (grade U; from the northern_ireland plugin): SBNI Regional Core")
    assert rows["First review child protection case conference"]["When"].startswith("3 months after the initial")
    assert rows["Review child protection case conference"]["Source"].startswith("Source (grade V;")
    seen = rows["Child seen by the social worker (at least every four weeks)"]
    assert "then every 4 weeks after the last visit" in seen["When"]
    assert "Done when a visit to the child is recorded at which the child was seen." in seen["When"]
    assert rows["Initial assessment"]["When"].startswith("10 working days after the referral.")
    seen_soon = rows["Child seen after a referral with child protection concerns"]
    assert seen_soon["When"].startswith("1 calendar day after the referral.")
    assert "Done when a visit to the child before any plan is recorded at which the child was seen." in " ".join(
        seen_soon["When"].split()
    )
    assert "the weekend not skipped" in " ".join(seen_soon["Source"].split())
    strategy = rows["Strategy discussion after a referral with child protection concerns"]
    assert "Starts when the referral is decided on for a strategy discussion." in strategy["When"]
    assert strategy["Source"].startswith(
        "Source (grade V2; from the northern_ireland plugin): Northern Ireland's gateway response to a referral"
    )


def _dates(*args: str) -> str:
    result = CliRunner().invoke(rules, ["--plugins", "england", "--from", "2026-05-18", *args], terminal_width=120)
    assert result.exit_code == 0, result.output
    return result.output


def _steps(output: str) -> dict[str, str]:
    """Each step of ``cpp rules --from``'s output, its lines unwrapped, by name."""
    blocks = output.split("\n\n")[1:]
    return {block.splitlines()[0]: " ".join(block.split("\n", 1)[1].split()) for block in blocks}


def test_from_prints_each_rules_date_across_a_bank_holiday_naming_the_days_not_counted():
    output = _dates()
    assert output.startswith(
        "Timescales of England (Working Together defaults), each counted from Monday 18 May 2026\n"
    )
    steps = _steps(output)
    # Mon 18 May 2026: Tue 19 - Fri 22 (4), the weekend, the Spring bank holiday Mon 25 May, Tue 26 - Fri 29 (8),
    # the weekend, Mon 1 June (9), Tue 2 June (10), ..., Tue 9 June (15).
    assert steps["Initial child protection conference"] == (
        "Starts when a strategy discussion is held that starts enquiries. Due Tuesday 9 June 2026: 15 working days "
        "after 18 May 2026, not counting 25 May 2026 (Spring Bank Holiday) and 6 weekend days."
    )
    assert (
        "Due Tuesday 2 June 2026: 10 working days after 18 May 2026, not counting 25 May 2026 (Spring Bank Holiday) "
        "and 4 weekend days." in steps["First core group meeting"]
    )
    # 3 months from Mon 18 May 2026 is Tue 18 August, a working day.
    assert steps["First review conference"].endswith(
        "Due Tuesday 18 August 2026: 3 months after 18 May 2026 is 18 August 2026."
    )
    # The next working day, no day closed between.
    assert steps["Decision on the referral"].endswith(
        "Due Tuesday 19 May 2026: 1 working day after 18 May 2026, no day in between closed."
    )
    assert len(steps) == 12  # with the visits, from the start of the plan, and the 4 pre-proceedings steps
    assert steps["Pre-proceedings meeting (no confirmed timescale)"].endswith(
        "No timescale in the source: a manager gives each one a date."
    )
    assert _literals(output) == []


def test_from_with_an_event_gives_only_the_rules_that_event_starts():
    steps = _steps(_dates("--event", "conference.held.v1"))
    assert list(steps) == ["First core group meeting", "First review conference", "Review conference"]


def test_from_names_a_councils_yearly_closure_and_a_recurrence_with_a_norm_and_a_limit(monkeypatch):
    class Closures:
        @hookimpl
        def cpp_extra_closure_days(self):
            return [{"yearly": "12-24", "name": "Council closure"}]

    from cpp_scheduler import commands

    real = commands.Plugins
    monkeypatch.setattr(commands, "Plugins", lambda names: real(names, extra=[("closures", Closures())]))
    result = CliRunner().invoke(
        rules, ["--plugins", "wales", "--from", "2026-11-16", "--event", "conference.held.v1"], terminal_width=120
    )
    assert result.exit_code == 0, result.output
    assert "and the council's own closure days: Council closure, every 24 December." in " ".join(result.output.split())
    core = _steps(result.output)["Core group meeting of the care and support protection plan"]
    # Mon 16 Nov 2026 + 10 working days = Mon 30 Nov. A calendar month on is Wed 30 Dec 2026, a working day; 6 weeks
    # on is Mon 11 Jan 2027.
    assert "Due Monday 30 November 2026: 10 working days after 16 November 2026, not counting 4 weekend days." in core
    assert "Then, if it is done that day, the next is due Wednesday 30 December 2026 (1 month after 30 November" in core
    assert "and overdue after Monday 11 January 2027 (6 weeks after 30 November 2026 is 11 January 2027)." in core


def test_from_as_json_gives_each_rules_counts():
    result = CliRunner().invoke(
        rules, ["--plugins", "england", "--from", "2026-05-18", "--event", "strategy_discussion.held.v1", "--json"]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert (body["authority"], body["from"]) == ("ENG", "2026-05-18")
    [conference] = body["dates"]
    assert conference["rule"] == "initial-conference"
    [count] = conference["computations"]
    assert count["due"] == "2026-06-09"
    assert {"date": "2026-05-25", "reason": "Spring Bank Holiday"} in count["skipped"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--from", "2026-05-18", "--event", "conference.heldd.v1"], "no rule starts on conference.heldd.v1"),
        (["--event", "conference.held.v1"], "--event needs --from"),
        (["--from", "18/05/2026"], "Invalid value for '--from'"),
    ],
)
def test_from_refuses_what_it_cannot_count(args, message):
    result = CliRunner().invoke(rules, ["--plugins", "england", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_a_recurrence_with_a_norm_and_a_limit_reads_as_the_procedures_word_it():
    rows = {row["Step"]: row for row in _rows(_table("wales"))}
    core = rows["Core group meeting of the care and support protection plan"]
    assert (
        core["When"]
        .replace("- ", "-")
        .startswith(  # the table wraps at a hyphen
            "10 working days after the initial or transfer-in conference, then monthly, and no more than 6-weekly, "
            "counted from the last core group meeting, or as often as the plan states, no less often."
        )
    )
    assert core["Counted how"].startswith("Working days for the first, calendar months and weeks for the repeats:")


def test_from_names_a_half_day_it_counted_as_worked_and_skips_one_counted_as_lost(monkeypatch):
    from cpp_scheduler import commands

    def with_closures(*closures):
        class Closures:
            @hookimpl
            def cpp_extra_closure_days(self):
                return list(closures)

        real = commands.Plugins
        monkeypatch.setattr(commands, "Plugins", lambda names: real(names, extra=[("closures", Closures())]))
        output = _dates("--event", "strategy_discussion.held.v1")
        monkeypatch.setattr(commands, "Plugins", real)
        return _steps(output)["Initial child protection conference"]

    half = {"date": "2026-05-20", "name": "Offices close at noon", "half_day": True}
    # Wed 20 May is counted: still Tue 9 June, as without it.
    assert with_closures(half).endswith(
        "Due Tuesday 9 June 2026: 15 working days after 18 May 2026, not counting 25 May 2026 (Spring Bank Holiday) "
        "and 6 weekend days. Half days counted as working days: 20 May 2026 (Offices close at noon)."
    )
    # Counted as a day lost, it is skipped: one working day later, Wed 10 June.
    assert with_closures({**half, "day_lost": True}).endswith(
        "Due Wednesday 10 June 2026: 15 working days after 18 May 2026, not counting 20 May 2026 (Offices close at "
        "noon), 25 May 2026 (Spring Bank Holiday) and 6 weekend days."
    )
