"""{{ cookiecutter.council_name }}: local rules, layered after {{ cookiecutter.builds_on }}.

Deploy with ``CPP_PLUGINS={{ cookiecutter.builds_on }},{{ cookiecutter.plugin_name }}``: {{ cookiecutter.builds_on }}'s rules apply
except where this plugin answers. Every rule a council adds or changes cites where its figure comes from and
how firmly it is established (V: primary source seen; V2: only a local restatement seen; U: unverified).
"""
from __future__ import annotations

from cpp_shared.hookspecs import hookimpl


@hookimpl
def cpp_layer():
    return "council"  # a council's layer: CPP_PLUGINS names it after its jurisdiction's set


@hookimpl
def cpp_builds_on():
    return ["{{ cookiecutter.builds_on }}"]


@hookimpl
def cpp_authority():
    return {
        "code": "{{ cookiecutter.authority_code }}",
        "name": "{{ cookiecutter.council_name }}",
        "jurisdiction": "{{ cookiecutter.builds_on }}",
        "calendar": {"country": "{{ cookiecutter.calendar_country }}", "subdiv": "{{ cookiecutter.calendar_subdiv }}"},
        "timezone": "{{ cookiecutter.timezone }}",
        "contacts": [],  # the council's safeguarding contacts, as families are given them
    }


@hookimpl
def cpp_timescales():
    # A council changes one field of its base's rule with "extends", citing its own procedures, e.g.:
    # {"id": "first-core-group", "extends": True, "source": "<the council's procedures, section> (V)"}
    return []


@hookimpl
def cpp_extra_closure_days():
    # Days the council's offices close beyond the public holidays, e.g.
    # {"date": "2026-12-29", "name": "Council closure"}, {"yearly": "12-24", "name": "Council closure (Christmas Eve)"}
    # or a half day still counted as worked: {"date": "2026-12-23", "name": "Close at noon", "half_day": True}
    return []
