"""Contract version: bump the major number on any breaking change to an event or output."""

from __future__ import annotations

SCHEMA_VERSION = "1.0.0"
