"""The OpenAPI document as a reader of /api/docs/ meets it: every method shows examples that
work, no description carries a note meant for the code's maintainers, and the methods
clients call come before the staff-only ledger."""

import json
import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from apps.catalog.registry import MethodSpec, registry
from apps.core.errors import GatewayError
from apps.gateway.checks import validate
from apps.routing.routes import MethodRoute, RoutingPolicy

pytestmark = pytest.mark.django_db

METHOD_PATH = re.compile(r"^/api/v1/services/(?P<service>[a-z_]+)/(?P<method>[a-z_]+)/$")


@pytest.fixture
def document(api: Any) -> dict[str, Any]:
    response = api.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def method_operations(document: dict[str, Any]) -> dict[MethodSpec, dict[str, Any]]:
    """Each method's operation, found by walking the document's paths."""
    operations = {}
    for path, item in document["paths"].items():
        match = METHOD_PATH.match(path)
        if match:
            service = registry.services[match["service"]]
            operations[service.methods[match["method"]]] = item["post"]
    return operations


def json_schema(schema: dict[str, Any], document: dict[str, Any]) -> Draft202012Validator:
    """A validator of an OpenAPI 3.0 schema object whose $refs point into the document."""

    def nullable(node: Any) -> Any:
        if isinstance(node, dict):
            node = {key: nullable(value) for key, value in node.items()}
            if node.pop("nullable", False):
                return {"anyOf": [node, {"type": "null"}]}
            return node
        if isinstance(node, list):
            return [nullable(value) for value in node]
        return node

    root = {**nullable(schema), "components": nullable(document["components"])}
    return Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_every_method_of_the_registry_is_in_the_document(document):
    # when the document's paths are walked
    found = {spec.key for spec in method_operations(document)}

    # then every method is there (so the checks below see them all)
    assert found == {spec.key for spec in registry.all_methods()}


def test_every_method_has_request_examples_that_its_own_validator_accepts(document):
    for spec, operation in method_operations(document).items():
        # given the examples Swagger UI offers for the method's body
        content = operation["requestBody"]["content"]["application/json"]
        examples = content.get("examples", {})
        assert examples, f"{spec.key} has no request example"
        schema = json_schema(content["schema"], document)
        route = MethodRoute(key=spec.key, spec=spec, policy=RoutingPolicy(), offerings=())
        for name, example in examples.items():
            # when each is checked as a call's body would be, then it is accepted
            body = json.dumps(example["value"]).encode()
            try:
                validate(route, body)
            except GatewayError as exc:
                pytest.fail(f"{spec.key} example {name}: {exc.errors or exc}")
            # and it matches the schema the document states for it
            errors = [e.message for e in schema.iter_errors(example["value"])]
            assert errors == [], f"{spec.key} example {name}: {errors}"


def test_every_json_method_has_response_examples_in_its_envelope(document):
    for spec, operation in method_operations(document).items():
        success = operation["responses"][str(spec.success_status)]["content"]
        if spec.binary:
            assert "application/json" not in success  # a PDF has no JSON example to show
            continue
        # given the examples of the method's answer
        content = success["application/json"]
        examples = content.get("examples", {})
        assert examples, f"{spec.key} has no response example"
        schema = json_schema(content["schema"], document)
        for name, example in examples.items():
            value = example["value"]
            # then each is the envelope of this method, around data the method answers
            assert (value["service"], value["method"], value["status"]) == (
                spec.service,
                spec.name,
                "succeeded",
            )
            errors = [e.message for e in schema.iter_errors(value)]
            assert errors == [], f"{spec.key} example {name}: {errors}"
            answer = spec.response(data=value["data"])
            assert answer.is_valid(), f"{spec.key} example {name}: {answer.errors}"


# Notes for whoever maintains the code, which readers of the API must not see.
INTERNAL_NOTES = {
    "a to-do or a linter's note": re.compile(r"\b(TODO|FIXME|XXX|HACK|noqa|type: ?ignore)\b"),
    "the team speaking": re.compile(r"\b(we|We|our|Our)\b"),
    "the code's own words": re.compile(
        r"\b(pipeline|serializers?|adapters?|docstring|nested objects|the original)\b", re.I
    ),
    "a module path": re.compile(r"\bapps\.[a-z_]+|\b[a-z_]+\.py\b"),
    "a setting's name": re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b"),
    "a private name": re.compile(r"(?<![\w`'/])_[A-Za-z]\w*"),
}


def descriptions(node: Any, where: str = "") -> list[tuple[str, str]]:
    """Every `description` in the document, with where it is."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                found.append((where, value))
            else:
                found += descriptions(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += descriptions(value, f"{where}/{index}")
    return found


def test_no_description_carries_a_note_for_maintainers(document):
    # when every description is read
    leaks = [
        f"{where} ({what}): {text}"
        for where, text in descriptions(document)
        for what, pattern in INTERNAL_NOTES.items()
        if pattern.search(text)
    ]

    # then none is a note about the code
    assert leaks == []


def test_a_schema_describes_only_fields_it_has(document):
    # A base class's docstring spoke of a misspelt `postcode` in the email attachment's
    # schema: a field in backquotes must be one of the schema's own.
    for name, schema in document["components"]["schemas"].items():
        fields = set(schema.get("properties", {}))
        if not fields:
            continue
        texts = [schema.get("description", "")]
        texts += [field.get("description", "") for field in schema["properties"].values()]
        quoted = {word for text in texts for word in re.findall(r"`([a-z_]+)`", text)}
        assert quoted <= fields, f"{name} speaks of {sorted(quoted - fields)}"


def test_the_methods_clients_call_come_before_the_staff_only_ledger(document):
    # when the document is read in order
    paths = list(document["paths"])
    tags = [tag["name"] for tag in document["tags"]]

    # then the catalog and every method come first, the services in the registry's order
    services = list(registry.services)
    assert tags[: 1 + len(services)] == ["catalog", *services]
    last_method = max(i for i, path in enumerate(paths) if METHOD_PATH.match(path))
    assert paths[0] == "/api/v1/services/"
    assert all(METHOD_PATH.match(path) for path in paths[1 : last_method + 1])
    # and the ledger last, after everything a client or a vendor calls
    assert tags[-1] == "ledger"
    ledger = [i for i, path in enumerate(paths) if path.startswith("/api/v1/ledger/")]
    assert ledger == list(range(len(paths) - len(ledger), len(paths)))
    assert len(ledger) == 3
