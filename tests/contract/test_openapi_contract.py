"""The four services' OpenAPI documents, checked with other people's tools:
openapi-spec-validator accepts each, and openapi-typescript (tests/validators)
generates a TypeScript client from it that the TypeScript compiler accepts,
with the operations, answers and headers a client needs named in it.

Beside the tools, the documents are checked against the views: every
operation has its own operationId; every one that needs a token documents
401 and 403 with the error body; a view that reads If-Match or takes an
Idempotency-Key documents the header."""

from __future__ import annotations

import inspect
import json
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from cpp_returns.app import create_app as create_returns_app
from openapi_schema_validator import OAS30Validator
from openapi_schema_validator import validate as validate_instance
from openapi_spec_validator import validate

from cpp_docs.app import create_app as create_docs_app
from cpp_notify.app import create_app as create_notify_app
from cpp_plans.app import create_app as create_plans_app
from cpp_scheduler.app import create_app as create_scheduler_app
from cpp_shared.openapi import Contract, operation_id
from tests.helpers import bearer

FACTORIES = {
    "plans": create_plans_app,
    "scheduler": create_scheduler_app,
    "notify": create_notify_app,
    "docs": create_docs_app,
    "returns": create_returns_app,
}
SERVICES = list(FACTORIES)
METHODS = ("get", "put", "post", "patch", "delete")
VALIDATORS = Path(__file__).resolve().parents[1] / "validators"
OPENAPI_TYPESCRIPT = VALIDATORS / "node_modules" / "openapi-typescript" / "bin" / "cli.js"
TSC = VALIDATORS / "node_modules" / "typescript" / "bin" / "tsc"
IF_MATCH_READ = re.compile(r"requires_if_match|check_if_match\(|if_match_version\(")


@pytest.fixture
def app_of(make_settings):
    return lambda service, **env: FACTORIES[service](make_settings(service, **env))


@pytest.fixture
def document_of(app_of, token_for):
    def read(service, **env):
        resp = app_of(service, **env).test_client().get("/openapi.json", headers=bearer(token_for("auditor")))
        assert resp.status_code == 200
        return resp.json

    return read


def operations(doc):
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def resolved(doc, obj):
    """A response or parameter, its $ref followed."""
    if "$ref" in obj:
        section, name = obj["$ref"].split("/")[-2:]
        return doc["components"][section][name]
    return obj


def header_parameters(op):
    return {p["name"]: p for p in op.get("parameters", []) if p.get("in") == "header"}


def documented_views(app, doc):
    """(path, method, operation, the view's function) of every operation of the
    service's own views, read from the app's routes."""
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        view = app.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            method = method.lower()
            op = doc["paths"].get(path, {}).get(method)
            if op is not None and op.get("security") != []:
                cls = getattr(view, "view_class", None)
                yield path, method, op, getattr(cls, method) if cls else view


# --- other people's tools ---------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_openapi_spec_validator_accepts_the_document(document_of, service):
    doc = document_of(service)
    validate(doc)
    assert doc["openapi"].startswith("3.")


def node_tool(script: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    if shutil.which("node") is None:
        pytest.fail(
            "Node.js is not installed: install Node.js 20.19 or later with npm, then run "
            "scripts/ensure-test-node-packages"
        )
    if not script.is_file():
        pytest.fail(f"{script} is missing: run scripts/ensure-test-node-packages (npm ci in tests/validators)")
    return subprocess.run(["node", str(script), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


# What a client written against each service's generated types uses; the
# TypeScript compiler refuses it if an operation, answer or header is missing.
ERRORS = """
type Json<Answer> = Answer extends {{ content: {{ "application/json": infer Body }} }} ? Body : never;
export const signInAgain: Json<operations["{op}"]["responses"][401]> =
    {{ code: 401, status: "Unauthorized", message: "token expired" }};
export const notAllowed: Json<operations["{op}"]["responses"][403]> =
    {{ code: 403, status: "Forbidden", message: "not your role" }};
export const health: paths["/healthz"]["get"]["responses"][200]["content"]["application/json"] = {{ status: "ok" }};
"""
CLIENTS = {
    "plans": (
        "getCase",
        """
export const newCase: operations["createCase"]["requestBody"]["content"]["application/json"] = { child_id: "child-1" };
export const planVersion: operations["updatePlan"]["parameters"]["header"]["If-Match"] = '"3"';
export const allocationVersion: operations["replaceAllocation"]["parameters"]["header"]["If-Match"] = '"2"';
export const gone: Json<operations["getChild"]["responses"][404]> = { code: 404, message: "no child child-9" };
export const stale: Json<operations["updateChild"]["responses"][412]> = { code: 412, message: "read it again" };
export const submitted: operations["submitReport"]["responses"][200]["content"]["application/json"]["id"] = "report-1";
""",
    ),
    "scheduler": (
        "getDeadline",
        """
export const calendar: operations["getPlanCalendar"]["responses"][200]["content"]["text/calendar"] = "BEGIN:VCALENDAR";
export const feed: operations["createPlanCalendarFeed"]["responses"][201]["content"]["application/json"]["url"] = "x";
export const deadline: operations["changeDeadlineDueDate"]["parameters"]["path"]["deadline_id"] = "deadline-1";
""",
    ),
    "notify": (
        "getSubscription",
        """
export const scopeVersion: NonNullable<operations["replaceScope"]["parameters"]["header"]>["If-Match"] = '"2"';
export const paused: operations["pauseSubscription"]["responses"][200]["content"]["application/json"]["status"] =
    "paused";
export const created: operations["createSubscription"]["responses"][201]["content"]["application/json"]["url"] =
    "https://partner.example.org/hook";
""",
    ),
    "docs": (
        "getDocument",
        """
export const pdf: operations["getDocument"]["responses"][200]["content"]["application/pdf"] = "%PDF-1.7";
export const html: operations["getDocument"]["responses"][200]["content"]["text/html"] = "<!doctype html>";
export const listed: operations["getPlanDocuments"]["parameters"]["path"]["plan_id"] = "plan-1";
""",
    ),
    "returns": (
        "getCinCensusQuality",
        """
export const census: operations["getCinCensus"]["responses"][200]["content"]["application/xml"] = "<Message/>";
export const year: operations["getCinCensus"]["parameters"]["query"]["year"] = 2026;
export const scottish: operations["getScotlandChildProtection"]["responses"][200]["content"]["text/csv"] = "child_id";
export const ready: operations["getCinCensusQuality"]["responses"][200]["content"]["application/json"]["ready"] = true;
""",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("service", SERVICES)
def test_openapi_typescript_generates_a_client_that_the_typescript_compiler_accepts(document_of, tmp_path, service):
    (tmp_path / "openapi.json").write_text(json.dumps(document_of(service)))
    made = node_tool(OPENAPI_TYPESCRIPT, "openapi.json", "-o", "api.d.ts", cwd=tmp_path)
    assert made.returncode == 0, made.stderr + made.stdout
    op, uses = CLIENTS[service]
    (tmp_path / "client.ts").write_text(
        'import type { operations, paths } from "./api";\n' + ERRORS.format(op=op) + uses
    )
    checked = node_tool(
        TSC,
        "--noEmit",
        "--strict",
        "--target",
        "es2022",
        "--lib",
        "es2022",
        "--skipDefaultLibCheck",
        "--module",
        "esnext",
        "--moduleResolution",
        "bundler",
        "client.ts",
        cwd=tmp_path,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    types = (tmp_path / "api.d.ts").read_text()
    for name in (op, *re.findall(r'operations\["(\w+)"\]', uses)):
        assert f"    {name}: {{" in types, f"the generated client has no operation {name}"
    assert '"/healthz": {' in types


# --- what the documents promise ---------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_has_its_own_readable_operation_id(document_of, service):
    ids = [op.get("operationId") for _, _, op in operations(document_of(service))]
    assert all(ids) and len(set(ids)) == len(ids), ids
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]*)+", i) for i in ids), ids


def test_the_operation_ids_say_what_each_operation_does(document_of):
    ids = {(path, method): op["operationId"] for path, method, op in operations(document_of("plans"))}
    assert ids[("/v1/cases", "post")] == "createCase"
    assert ids[("/v1/cases", "get")] == "getCases"
    assert ids[("/v1/children/{child_id}", "patch")] == "updateChild"
    assert ids[("/v1/staff", "post")] == "addStaff"
    assert ids[("/v1/reports/{report_id}/submit", "post")] == "submitReport"
    ids = {path: op["operationId"] for path, _, op in operations(document_of("scheduler"))}
    assert ids["/v1/plans/{plan_id}/calendar.ics"] == "getPlanCalendar"
    assert ids["/v1/deadlines/{deadline_id}"] == "getDeadline"


@pytest.mark.parametrize(
    "endpoint, method, creates, expected",
    [
        ("children.Children", "post", True, "createChild"),
        ("children.Children", "get", False, "getChildren"),
        ("reports.ChildInNeedPlans", "post", True, "createChildInNeedPlan"),
        ("restrictions.BreakGlass", "post", True, "createBreakGlass"),
        ("deliveries.DeliveryById", "get", False, "getDelivery"),
        ("deadlines.DeadlineOne", "get", False, "getDeadline"),
        ("cases.Allocation", "put", False, "replaceAllocation"),
        ("plans.PlanById", "patch", False, "updatePlan"),
        ("calendar.CalendarFeed", "delete", False, "deleteCalendarFeed"),
        ("reports.Submit", "post", False, "postSubmit"),
        ("staff.add_staff", "post", True, "addStaff"),
    ],
)
def test_the_operation_id_rule(endpoint, method, creates, expected):
    assert operation_id(endpoint, method, creates) == expected


def test_two_operations_given_the_same_id_stop_start_up():
    contract = Contract()
    contract.operation_helper(
        path="/v1/a", operations={"get": {"responses": {}}}, rule=SimpleNamespace(endpoint="a.Children")
    )
    with pytest.raises(ValueError, match="operationId 'getChildren' of b.Children .get. is already a.Children"):
        contract.operation_helper(
            path="/v1/b", operations={"get": {"responses": {}}}, rule=SimpleNamespace(endpoint="b.Children")
        )


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_that_needs_a_token_documents_401_and_403_with_the_error_body(document_of, service):
    doc = document_of(service)
    assert doc["security"] == [{"bearerAuth": []}]
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        **doc["components"]["securitySchemes"]["bearerAuth"],
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    checked = 0
    for path, method, op in operations(doc):
        if op.get("security") == []:
            continue
        for code in ("401", "403"):
            answer = resolved(doc, op["responses"].get(code, {"description": "missing"}))
            assert answer.get("content", {}).get("application/json", {}).get("schema") == {
                "$ref": "#/components/schemas/Error"
            }, (method, path, code, answer)
        checked += 1
    assert checked >= {"returns": 4}.get(service, 7)  # the returns service's four reads; the others' many more
    assert "WWW-Authenticate" in doc["components"]["responses"]["Unauthenticated"]["headers"]


@pytest.mark.parametrize("service", SERVICES)
def test_a_path_that_names_a_record_documents_404_and_every_change_409(document_of, service):
    for path, method, op in operations(document_of(service)):
        if "{" in path:
            assert "404" in op["responses"], (method, path)
        if method != "get":
            assert "409" in op["responses"], (method, path)


@pytest.mark.parametrize("service", SERVICES)
def test_the_probes_need_no_token_and_are_documented(document_of, service):
    doc = document_of(service)
    for path, oid in (("/healthz", "getHealth"), ("/readyz", "getReadiness"), ("/metrics", "getMetrics")):
        op = doc["paths"][path]["get"]
        assert op["security"] == [] and op["operationId"] == oid
    assert "text/plain" in doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert set(doc["paths"]["/readyz"]["get"]["responses"]) == {"200", "503"}


@pytest.mark.parametrize("service", SERVICES)
def test_every_view_that_reads_if_match_or_takes_an_idempotency_key_documents_the_header(app_of, token_for, service):
    app = app_of(service)
    doc = app.test_client().get("/openapi.json", headers=bearer(token_for("auditor"))).json
    readers = 0
    for path, method, op, view in documented_views(app, doc):
        source = inspect.getsource(view)
        headers = header_parameters(op)
        if IF_MATCH_READ.search(source):
            readers += 1
            assert "If-Match" in headers and "412" in op["responses"], (method, path)
            assert headers["If-Match"]["required"] == ("@requires_if_match" in source), (method, path)
        if "@idempotent" in source:
            assert "Idempotency-Key" in headers, (method, path)
    assert readers == {"plans": 16, "scheduler": 0, "notify": 1, "docs": 0, "returns": 0}[service]


def test_the_changes_that_need_if_match_say_so_with_their_412_and_428(document_of):
    doc = document_of("plans")
    for path, method in (
        ("/v1/children/{child_id}", "patch"),
        ("/v1/cases/{case_id}/allocation", "put"),
        ("/v1/conferences/{conference_id}", "patch"),
        ("/v1/plans/{plan_id}", "patch"),
        ("/v1/reports/{report_id}", "patch"),
    ):
        op = doc["paths"][path][method]
        assert header_parameters(op)["If-Match"]["required"] is True, (method, path)
        assert {"400", "412", "428"} <= set(op["responses"]), (method, path)
    decision = doc["paths"]["/v1/resource-panel-requests/{request_id}/decision"]["post"]
    assert header_parameters(decision)["If-Match"]["required"] is False


def test_the_calendar_feed_is_text_calendar_and_takes_a_feed_key_instead_of_a_token(document_of):
    doc = document_of("scheduler")
    op = doc["paths"]["/v1/plans/{plan_id}/calendar.ics"]["get"]
    assert list(op["responses"]["200"]["content"]) == ["text/calendar"]
    assert op["security"] == [{"bearerAuth": []}, {"feedKey": []}]
    assert doc["components"]["securitySchemes"]["feedKey"] == {
        **doc["components"]["securitySchemes"]["feedKey"],
        "type": "apiKey",
        "in": "query",
        "name": "key",
    }
    others = [op for path, _, op in operations(doc) if not path.endswith("calendar.ics")]
    assert not any({"feedKey": []} in op.get("security", []) for op in others)


def test_a_documents_file_is_a_pdf_or_an_html_page(document_of):
    op = document_of("docs")["paths"]["/v1/documents/{doc_id}"]["get"]
    content = op["responses"]["200"]["content"]
    assert content["application/pdf"]["schema"] == {"type": "string", "format": "binary"}
    assert content["text/html"]["schema"] == {"type": "string"}
    assert "304" in op["responses"] and "If-None-Match" in header_parameters(op)


@pytest.mark.parametrize("service", SERVICES)
def test_the_server_is_the_services_public_address_when_set_else_where_the_document_was_read(document_of, service):
    assert document_of(service)["servers"] == [{"url": "/"}]
    setting = f"CPP_{service.upper()}_PUBLIC_URL"
    address = f"https://{service}.cpp.example.org"
    assert document_of(service, **{setting: address + "/"})["servers"] == [{"url": address}]


def request_examples(doc):
    """{(path, method): (example, schema)} of the JSON request bodies that show an example."""
    found = {}
    for path, method, op in operations(doc):
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
        if "example" in body:
            found[path, method] = body["example"], body["schema"]
    return found


def test_the_main_request_bodies_show_an_example_that_follows_their_schema(document_of):
    doc = document_of("plans")
    examples = request_examples(doc)
    assert {("/v1/children", "post"), ("/v1/cases", "post"), ("/v1/plans/{plan_id}", "patch")} <= set(examples)
    for example, schema in examples.values():
        validate_instance(example, {**schema, "components": doc["components"]}, cls=OAS30Validator)
    with pytest.raises(Exception, match="'address' is a required property"):  # the validator does refuse
        validate_instance(
            {"given_names": "Ana"},
            {"$ref": "#/components/schemas/ChildCreate", "components": doc["components"]},
            cls=OAS30Validator,
        )


def test_the_service_accepts_the_child_and_the_case_its_document_shows(app_of, token_for):
    client = app_of("plans").test_client()
    sw = bearer(token_for("social_worker"))
    examples = request_examples(client.get("/openapi.json", headers=sw).json)
    child = client.post("/v1/children", json=examples["/v1/children", "post"][0], headers=sw)
    assert child.status_code == 201, child.json
    case = {**examples["/v1/cases", "post"][0], "child_id": child.json["id"]}
    opened = client.post("/v1/cases", json=case, headers=sw)
    assert opened.status_code == 201, opened.json
