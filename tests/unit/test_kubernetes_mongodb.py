"""deploy/kubernetes/mongodb/mongodb-community.yaml: the production replica
set for Kubernetes. Its kinds are the operators' custom resources, which
kubernetes-validate has no schema for (it says so: SchemaNotFoundError), so
their fields are checked here against what the MongoDB Community Operator and
cert-manager document, and the parts that are Kubernetes' own objects (the
members' volume claims, their pod labels) with kubernetes-validate."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.compose_file import ROOT

KUBE = ROOT / "deploy" / "kubernetes"
FILE = KUBE / "mongodb" / "mongodb-community.yaml"
BACKEND = ["plans", "scheduler", "notify", "docs", "returns"]
VERSION = "1.37.0"


@pytest.fixture(scope="module")
def objects() -> dict[str, dict[str, Any]]:
    return {o["kind"]: o for o in yaml.safe_load_all(FILE.read_text()) if o}


def test_the_custom_resources_are_not_in_kubernetes_validate_s_schemas(objects):
    assert set(objects) == {"Issuer", "Certificate", "MongoDBCommunity"}
    for o in objects.values():
        with pytest.raises(kubernetes_validate.SchemaNotFoundError):
            kubernetes_validate.validate(o, VERSION, strict=True)


def test_three_members_with_scram_and_tls_required(objects):
    spec = objects["MongoDBCommunity"]["spec"]
    assert objects["MongoDBCommunity"]["apiVersion"] == "mongodbcommunity.mongodb.com/v1"
    assert (spec["type"], spec["members"]) == ("ReplicaSet", 3)
    assert spec["version"].startswith("7.")
    assert spec["security"]["authentication"]["modes"] == ["SCRAM"]
    tls = spec["security"]["tls"]
    assert tls["enabled"] is True and tls["optional"] is False
    certificate = objects["Certificate"]["spec"]
    assert tls["certificateKeySecretRef"]["name"] == certificate["secretName"]
    assert certificate["issuerRef"] == {"name": objects["Issuer"]["metadata"]["name"], "kind": "Issuer"}
    assert {"server auth", "client auth"} <= set(certificate["usages"])
    service = f"{objects['MongoDBCommunity']['metadata']['name']}-svc"
    assert any(name.startswith(f"*.{service}.") for name in certificate["dnsNames"]), "every member's name"


def test_a_user_per_service_allowed_its_own_databases_only(objects):
    users = {u["name"]: u for u in objects["MongoDBCommunity"]["spec"]["users"]}
    assert set(users) == {f"cpp_{s}" for s in BACKEND}
    for service in BACKEND:
        user = users[f"cpp_{service}"]
        assert user["db"] == f"cpp_{service}", "signs in on the store URL's own database"
        assert user["roles"] == [
            {"name": "readWrite", "db": f"cpp_{service}"},
            {"name": "readWrite", "db": f"cpp_{service}_limits"},
        ]
        assert user["passwordSecretRef"]["name"] == f"{service}-mongodb-password"
    assert len({u["scramCredentialsSecretName"] for u in users.values()}) == len(users)
    readme = (KUBE / "README.md").read_text()
    # The README makes each of those Secrets.
    assert f"for s in {' '.join(BACKEND)}; do" in readme and "create secret generic $s-mongodb-password" in readme


def test_the_members_kubernetes_parts_validate_and_the_network_policies_let_the_services_in(objects):
    stateful = objects["MongoDBCommunity"]["spec"]["statefulSet"]["spec"]
    for claim in stateful["volumeClaimTemplates"]:
        kubernetes_validate.validate(
            {"apiVersion": "v1", "kind": "PersistentVolumeClaim", **claim}, VERSION, strict=True
        )
    labels = stateful["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/component"] == "mongod"
    assert "app.kubernetes.io/component: mongod" in (KUBE / "base" / "network-policies.yaml").read_text()


def test_no_secret_is_written_in_it():
    text = FILE.read_text()
    assert "kind: Secret\n" not in text and "password:" not in text.replace("passwordSecretRef:", "")
