"""Records checked against their stream's SCHEMA by a validator compiled once per schema.

The SDK's default validator (``jsonschema``) interprets the schema again for every value: on
the ``employees`` stream of a 5,000-employee company it was a third of the target's CPU.
``fastjsonschema`` turns the schema into Python code once; the sinks hand it to the SDK through
its public ``get_validator`` hook, as the SDK's documentation shows. What is checked is what the
SDK's validator checks: types, required keys and the other keywords, string formats only when
the sink asks for them. Records are never changed (no defaults filled in), and a schema that
refers to a document elsewhere is refused rather than fetched.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

import fastjsonschema
from singer_sdk.exceptions import InvalidJSONSchema, InvalidRecord
from singer_sdk.sinks.core import BaseJSONSchemaValidator

# Compiled validators by schema: the SDK makes a sink (and asks for a validator) at every
# SCHEMA message, and a tap repeats the same schema many times in a run.
_COMPILED: dict[tuple[str, bool], Any] = {}
_COMPILED_LIMIT = 64


def _no_remote_documents(uri: str) -> NoReturn:
    raise InvalidJSONSchema(
        f"Schema Validation Error: the schema refers to {uri}; this target does not fetch "
        "schema documents: send a schema with its definitions inline"
    )


def _compiled(schema: dict[str, Any], validate_formats: bool) -> Any:
    key = (json.dumps(schema, sort_keys=True, default=str), validate_formats)
    found = _COMPILED.get(key)
    if found is None:
        try:
            found = fastjsonschema.compile(
                schema,
                handlers={"http": _no_remote_documents, "https": _no_remote_documents},
                use_default=False,
                use_formats=validate_formats,
            )
        except fastjsonschema.JsonSchemaDefinitionException as exc:
            raise InvalidJSONSchema(f"Schema Validation Error: {exc}") from exc
        if len(_COMPILED) >= _COMPILED_LIMIT:
            _COMPILED.clear()
        _COMPILED[key] = found
    return found


class CompiledSchemaValidator(BaseJSONSchemaValidator):
    """Raises the SDK's ``InvalidRecord`` naming the field and the rule it breaks."""

    def __init__(self, schema: dict[str, Any], *, validate_formats: bool = False) -> None:
        super().__init__(schema)
        self._validate = _compiled(schema, validate_formats)

    def validate(self, record: dict[str, Any]) -> None:
        try:
            self._validate(record)
        except fastjsonschema.JsonSchemaValueException as exc:
            # "data.terminated must be boolean": the field's path and the rule. The value is
            # left out: records hold people's personal data, and this message is logged.
            message = str(exc.message)
            if message.startswith("data"):
                message = "record" + message[len("data") :]
            raise InvalidRecord(message, record) from exc
