"""One reader for the JSON bodies our endpoints take: a malformed body is the sender's mistake
and gets a 400 (or 413) that says what is wrong, never a 500 and never a silent `{}` that would
overwrite a draft or a file with nothing."""

import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse

_NAMES = {str: "text", bool: "true or false", int: "a whole number", dict: "an object", list: "a list"}


class BadBody(ValueError):
    """A ValueError, so views that already answer ValueError with a 400 keep doing so."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status

    def response(self) -> JsonResponse:
        return JsonResponse({"error": str(self)}, status=self.status)


def _type_ok(value, types) -> bool:
    if value is None:
        return type(None) in types
    if isinstance(value, bool):  # bool is an int to Python, not to the sender
        return bool in types
    return isinstance(value, tuple(t for t in types if t is not type(None)))


def read_json(request, *, fields: dict | None = None, max_bytes: int | None = None) -> dict:
    """The body as a dict. `fields` maps a name to its type (or a tuple of types; include
    `type(None)` to allow null); a field that is present with another type is refused by name.
    Absent fields are the view's business (it picks the default)."""
    limit = max_bytes or settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        raw = request.body
    except RequestDataTooBig:  # Django refuses by Content-Length before reading
        raw = None
    if raw is None or len(raw) > limit:
        raise BadBody(f"the request body is too large (at most {limit // 1024} KB)", status=413)
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise BadBody(f"the request body is not valid JSON{where}") from None
    if not isinstance(data, dict):
        raise BadBody(f"the request body must be a JSON object, not {_kind(data)}")
    for name, types in (fields or {}).items():
        types = types if isinstance(types, tuple) else (types,)
        if name in data and not _type_ok(data[name], types):
            wanted = " or ".join(_NAMES.get(t, "null") for t in types)
            raise BadBody(f"the field {name!r} must be {wanted}, not {_kind(data[name])}")
    return data


def _kind(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    return {str: "text", list: "a list", dict: "an object"}.get(type(value), type(value).__name__)
