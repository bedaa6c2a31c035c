"""OpenAPI post-processing: document the error answers every operation can give, so clients
(and the schemathesis fuzz tests) know them. drf-spectacular documents only successes."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}
ERROR_SCHEMA = {
    "type": "object",
    "description": "`detail` says what went wrong; for bad input, each field names its "
    'problems instead (`{"email": ["Enter a valid email address."]}`).',
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": True,
}
DESCRIPTIONS = {
    "400": "Bad input: each field says what is wrong.",
    "401": "Not signed in.",
    "403": "Signed in without the role this needs, or not signed in.",
    "404": "No such request (or file).",
    "409": "The request's current status does not allow this.",
    "413": "The body is too large (a large file goes on its own to …/documents/).",
    "415": "The body is not in a media type this operation takes (JSON; for …/documents/, "
    "the file itself).",
    "429": "Too many requests: wait for the number of seconds in Retry-After.",
}


def _codes(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    public = operation.get("security") in ([], [{}])
    codes = ["400"]
    if not public:
        codes += ["401", "403"]
    if "{" in path:
        codes.append("404")
    if method == "post" and not public:
        codes.append("409")
    if method in {"post", "put", "patch"}:
        codes += ["413", "415"]
    if public:
        codes.append("429")
    return codes


def document_errors(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, methods in result.get("paths", {}).items():
        for method, operation in methods.items():
            responses = operation.setdefault("responses", {})
            for code in _codes(path, method, operation):
                responses.setdefault(
                    code,
                    {
                        "description": DESCRIPTIONS[code],
                        "content": {"application/json": {"schema": ERROR}},
                    },
                )
    return result
