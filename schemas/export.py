"""JSON Schema files of the public contracts, named with the contract's major version."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from schemas.events import CallEvent, ComplaintEvent, LifecycleEvent, TopupEvent
from schemas.outputs import Alert, CapacityDay, DeadLetter, Prediction, ResolvedDay, TrainingExample
from schemas.version import SCHEMA_VERSION

CONTRACTS: dict[str, type[BaseModel]] = {
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
        schema = model.model_json_schema(mode="validation")
        schema["$id"] = f"https://churnwatch.example/schemas/{name}.v{major}.json"
        schema["x-churnwatch-version"] = SCHEMA_VERSION
        documents[f"{name}.v{major}.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return documents


def export_schemas(directory: Path) -> list[Path]:
    """Write every contract's schema into ``directory``; returns the written paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, text in schema_documents().items():
        path = directory / file_name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
