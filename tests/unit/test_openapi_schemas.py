"""/v1/openapi.json: every schema field is described and has an example, and the examples are what the
server's own model accepts (a contract between the description and the code)."""

from __future__ import annotations

from typing import Any

import pytest

from promptstamp.model import Receipt, Record
from promptstamp.web.openapi import SPEC

SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]


def _fields(name: str, schema: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    out = []
    for key, field in schema.get("properties", {}).items():
        out.append((f"{name}{path}.{key}", field))
        if field.get("type") == "object":
            out += _fields(name, field, f"{path}.{key}")
    return out


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_schema_and_field_is_described_with_an_example(name: str) -> None:
    schema = SCHEMAS[name]
    assert schema.get("description"), f"{name} has no description"
    assert "example" in schema, f"{name} has no example"
    fields = _fields(name, schema)
    assert fields, f"{name} lists no fields"
    for where, field in fields:
        assert field.get("description"), f"{where} has no description"
        if "allOf" in field:
            assert all(part["$ref"].split("/")[-1] in SCHEMAS for part in field["allOf"]), where


def test_required_fields_exist() -> None:
    for name, schema in SCHEMAS.items():
        assert set(schema.get("required", [])) <= set(schema.get("properties", {})), name


def test_examples_are_what_the_model_accepts() -> None:
    record = Record.from_json(SCHEMAS["Record"]["example"])
    assert record.type == "prompt" and record.actor == "user"
    Record.from_json(SCHEMAS["Envelope"]["example"]["record"])
    receipt = Receipt.from_json({**SCHEMAS["Receipt"]["example"]})
    assert receipt.record_id == record.id
