"""JSON Schema files of the public contracts, named with the contract's major version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
from pydantic import BaseModel

from schemas.events import CallEvent, ComplaintEvent, LifecycleEvent, TopupEvent
from schemas.outputs import Alert, CapacityDay, DeadLetter, Prediction, ResolvedDay, TrainingExample
from schemas.version import SCHEMA_VERSION

CONTRACTS: dict[str, type[msgspec.Struct] | type[BaseModel]] = {
    "call": CallEvent,
    "topup": TopupEvent,
    "complaint": ComplaintEvent,
    "lifecycle": LifecycleEvent,
    "alert": Alert,
    "dead_letter": DeadLetter,
    "prediction": Prediction,
    "training_example": TrainingExample,
    "resolved_day": ResolvedDay,
    "capacity_day": CapacityDay,
}


def schema_documents() -> dict[str, str]:
    """File name to JSON text for every contract, e.g. ``call.v1.json``.

    >>> sorted(schema_documents())[0]
    'alert.v1.json'
    """
    major = SCHEMA_VERSION.split(".")[0]
    documents = {}
    for name, model in CONTRACTS.items():
        schema = json_schema(model)
        schema["$id"] = f"https://churnwatch.example/schemas/{name}.v{major}.json"
        schema["x-churnwatch-version"] = SCHEMA_VERSION
        documents[f"{name}.v{major}.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return documents


def json_schema(contract: type[msgspec.Struct] | type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of one contract, its own definition at the top and the types it uses in ``$defs``.

    >>> json_schema(TopupEvent)["required"]
    ['event_id', 'customer_id', 'event_time', 'amount']
    """
    if issubclass(contract, BaseModel):
        return contract.model_json_schema(mode="validation")
    definitions: dict[str, Any] = msgspec.json.schema(contract)["$defs"]
    schema: dict[str, Any] = definitions.pop(contract.__name__)
    if definitions:
        schema["$defs"] = definitions
    _type_string_enums(schema)
    return schema


def _type_string_enums(node: object) -> None:
    """Give every enum of strings ``"type": "string"``, which msgspec leaves implicit.

    >>> node = {"properties": {"type": {"enum": ["call"]}}}
    >>> _type_string_enums(node)
    >>> node["properties"]["type"]
    {'enum': ['call'], 'type': 'string'}
    """
    if isinstance(node, dict):
        values = node.get("enum")
        if isinstance(values, list) and all(isinstance(value, str) for value in values):
            node.setdefault("type", "string")
        for child in node.values():
            _type_string_enums(child)
    elif isinstance(node, list):
        for child in node:
            _type_string_enums(child)


def export_schemas(directory: Path) -> list[Path]:
    """Write every contract's schema into ``directory``; returns the written paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, text in schema_documents().items():
        path = directory / file_name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
