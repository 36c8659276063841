"""The JSON report: `ReportData` dumped with stable keys, and the JSON Schema that describes it.

The schema file (report.schema.json, next to this module) is generated from the pydantic models by
`report_json_schema()`; a test keeps the committed file equal to it, so the documented contract and the
output cannot drift apart. Regenerate it with `python -m planner.reports.jsonreport`.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic.json_schema import GenerateJsonSchema

from planner.reports.models import SCHEMA_VERSION, ReportData

SCHEMA_PATH = Path(__file__).with_name("report.schema.json")

CONTRACT_NAMES = {"ReportAttempt": "Attempt"}
"""Models renamed in the code whose `$defs` entry keeps its published name, so the schema stays the same."""


class _ContractSchema(GenerateJsonSchema):
    def normalize_name(self, name: str) -> str:
        name = super().normalize_name(name)
        return CONTRACT_NAMES.get(name, name)


def render_json(data: ReportData) -> str:
    """Pretty-printed JSON (2-space indent, keys in model order) ending in a newline."""
    return data.model_dump_json(indent=2) + "\n"


def report_json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of the JSON report, as generated from `ReportData`."""
    schema = ReportData.model_json_schema(mode="serialization", schema_generator=_ContractSchema)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://pathlab.invalid/report.schema.v{SCHEMA_VERSION}.json"
    schema["title"] = "PathLab progress report"
    return schema


def schema_text() -> str:
    return json.dumps(report_json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    SCHEMA_PATH.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
