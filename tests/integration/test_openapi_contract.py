"""docs/api/openapi.yaml and the server's route table agree (paths, methods,
who may call); real responses satisfy the documented schemas."""
import json

import jsonschema
import pytest
import requests
import yaml

from zaulekd_fixture import ROLE_USERS, SOURCE_DIR, run_cli

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def spec():
    return yaml.safe_load((SOURCE_DIR / "docs" / "api" / "openapi.yaml").read_text())


def json_schema(node):
    """OpenAPI 3.0 schema -> JSON Schema: `nullable: true` becomes a null type."""
    if isinstance(node, list):
        return [json_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") and "type" in node:
        out["type"] = [node["type"], "null"]
        if "enum" in out:
            out["enum"] = out["enum"] + [None]
    return out


def validate(spec, name, instance):
    schema = {"$ref": f"#/components/schemas/{name}",
              "components": json_schema(spec["components"])}
    jsonschema.validate(instance, schema)


def test_routes_match_openapi(spec):
    assert spec["openapi"].startswith("3.0")
    documented = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                documented[(method.upper(), path)] = op
    r = run_cli(["--list-routes"])
    assert r.returncode == 0
    table = {(x["method"], x["path"]): x for x in json.loads(r.stdout)}
    assert set(table) == set(documented), (set(table) ^ set(documented))
    for key, route in table.items():
        op = documented[key]
        assert op["x-zaulek-access"] == route["access"], key
        assert sorted(op.get("x-zaulek-roles", [])) == sorted(route["roles"]), key
        if route["access"] == "public":
            assert op.get("security") == [], key
        # Slow routes (server/http/routes.h Speed::slow) say so, and their 503.
        assert op.get("x-zaulek-slow", False) == route["slow"], key
        if route["slow"]:
            assert op["responses"]["503"] == {"$ref": "#/components/responses/SlowPoolFull"}, key


def test_responses_match_schemas(spec, daemon):
    adam = ROLE_USERS["administrator"]
    r = requests.post(daemon.url("/api/v1/auth/login"),
                      json={"username": adam, "password": daemon.passwords[adam]}, timeout=5)
    validate(spec, "LoginResponse", r.json())
    daemon.tokens.append(r.json()["token"])
    h = {"Authorization": "Bearer " + r.json()["token"]}
    validate(spec, "Me", requests.get(daemon.url("/api/v1/auth/me"), headers=h, timeout=5).json())
    validate(spec, "UserList",
             requests.get(daemon.url("/api/v1/users"), headers=h, timeout=5).json())
    created = requests.post(daemon.url("/api/v1/users"), headers=h,
                            json={"name": "schema-check", "password": "password-123",
                                  "role": "operator"}, timeout=5)
    assert created.status_code == 201
    validate(spec, "User", created.json())
    audit = requests.get(daemon.url("/api/v1/audit?limit=3"), headers=h, timeout=5).json()
    validate(spec, "AuditPage", audit)
    assert len(audit["entries"]) == 3
    validate(spec, "Health", requests.get(daemon.url("/healthz"), timeout=5).json())
    for bad in (requests.get(daemon.url("/api/v1/users"), timeout=5),
                requests.get(daemon.url("/nowhere"), timeout=5),
                requests.post(daemon.url("/api/v1/users"), headers=h, data="x", timeout=5)):
        assert bad.status_code >= 400
        validate(spec, "Error", bad.json())
    # A wrong body is caught by the schema check itself (the test can fail).
    with pytest.raises(jsonschema.ValidationError):
        validate(spec, "User", {"id": 1, "name": "x"})
