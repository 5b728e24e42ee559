"""API v1 OpenAPI document (valid 3.1, in step with the routes) and the error translator's JSON shape."""

from __future__ import annotations

import json
import logging
import re

import pytest
from api_helpers import assert_error
from openapi_spec_validator import validate

from collector.openapi import SERVER_PREFIX, openapi_document

METHODS = {"get", "post", "put", "delete", "patch"}


def documented(document: dict) -> set[tuple[str, str]]:
    return {(SERVER_PREFIX + path, method) for path, item in document["paths"].items()
            for method in item if method in METHODS}


def routed(app) -> set[tuple[str, str]]:
    return {(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method.lower())
            for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_document_is_valid_openapi_3_1():
    document = openapi_document()
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_served_document_is_the_same(client):
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200 and answer.json == json.loads(json.dumps(openapi_document()))


def test_every_route_is_documented_and_every_documented_call_exists(app):
    assert routed(app) == documented(openapi_document())


def test_every_operation_documents_errors_and_its_security():
    document = openapi_document()
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": "The token from POST /contributors"}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            statuses = set(operation["responses"])
            assert "429" in statuses and any(s.startswith("2") for s in statuses), (path, method)
            needs_token = operation["security"] != []
            assert needs_token == ("401" in statuses), (path, method)


def test_unknown_api_path_is_json_404(client):
    assert_error(client.get("/api/v1/no/such/thing"), 404, "not_found")


def test_wrong_method_is_json_405_with_allow(client):
    answer = client.patch("/api/v1/campaigns")
    assert_error(answer, 405, "method_not_allowed")
    assert "GET" in answer.headers["Allow"]


def test_pages_keep_html_errors(client):
    answer = client.get("/no-such-page")
    assert answer.status_code == 404 and not answer.is_json


def test_unexpected_exception_is_a_logged_json_500(app, caplog):
    def broken():
        raise RuntimeError("a bug")

    app.add_url_rule("/api/v1/_broken", "broken", broken)
    with caplog.at_level(logging.ERROR, logger="collector.errors"):
        answer = app.test_client().get("/api/v1/_broken")
    assert_error(answer, 500, "internal_error")
    assert "a bug" not in answer.get_data(as_text=True) and "Traceback" not in answer.get_data(as_text=True)
    [record] = [r for r in caplog.records if r.name == "collector.errors"]
    assert record.exc_info and isinstance(record.exc_info[1], RuntimeError)


@pytest.mark.parametrize("body", ["{", "[1, 2", "\xff\xfe", "[" * 100_000])
def test_malformed_json_is_invalid_json(client, body):
    token = client.post("/api/v1/contributors").json["token"]
    answer = client.put("/api/v1/contributors/me/profile", headers={"Authorization": f"Bearer {token}"},
                        data=body.encode("latin-1"), content_type="application/json")
    assert_error(answer, 400, "invalid_json")


def test_quality_schema_is_derived_from_the_quality_record(client):
    """Every metric of metrics.Quality, with its JSON type and meaning; nothing guessed from names."""
    import dataclasses
    import typing

    from collector.metrics import Quality
    from collector.models import Clip

    schema = client.get("/api/v1/openapi.json").json["components"]["schemas"]["Quality"]
    kinds = {bool: "boolean", int: "integer", float: "number"}
    hints = typing.get_type_hints(Quality)
    fields = [f.name for f in dataclasses.fields(Quality)]
    assert set(schema["properties"]) == set(fields) and schema["required"] == fields
    for name in fields:
        assert schema["properties"][name]["type"] == kinds[hints[name]], name
        assert schema["properties"][name]["description"], name
        assert Clip.__table__.columns[name].type.python_type is hints[name], name
