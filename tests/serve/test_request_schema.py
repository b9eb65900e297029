"""The evaluate request is declared once (serve/requests.py): what the server accepts is exactly
what the OpenAPI document's `Request` schema accepts (checked with a JSON Schema validator over
generated documents, good and bad), and a refusal names the field."""

from __future__ import annotations

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from policyengine.serve.openapi import OPENAPI
from policyengine.serve.requests import RequestError, read_request

_SCHEMA = {"$ref": "#/components/schemas/Request", "components": OPENAPI["components"]}
_VALIDATOR = jsonschema.Draft202012Validator(_SCHEMA)

_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=3))
_STRINGS = st.lists(st.text(max_size=3), max_size=3)
_CONSUMERS = st.one_of(
    st.text(max_size=3), _SCALARS,
    st.fixed_dictionaries({"id": st.one_of(st.text(max_size=3), _SCALARS)},
                          optional={"groups": st.one_of(_STRINGS, _SCALARS, st.lists(_SCALARS, max_size=2)),
                                    "attributes": st.one_of(st.dictionaries(st.text(max_size=2), _SCALARS),
                                                            _SCALARS),
                                    "role": _SCALARS}))
_REQUESTS = st.one_of(
    _SCALARS, st.lists(_SCALARS, max_size=2),
    st.fixed_dictionaries({}, optional={
        "consumer": _CONSUMERS, "product": st.one_of(st.text(max_size=3), _SCALARS),
        "columns": st.one_of(_STRINGS, _SCALARS), "purpose": _SCALARS, "extra": _SCALARS}))


def _accepted(doc: object) -> bool:
    try:
        read_request(doc)
    except RequestError:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(_REQUESTS)
def test_the_server_accepts_what_the_documented_schema_accepts(doc: object) -> None:
    assert _accepted(doc) == _VALIDATOR.is_valid(doc), doc


def test_a_refusal_names_the_field() -> None:
    cases = {
        "`$.product`": {"consumer": "bob", "product": ""},
        "`$.consumer.groups[1]`": {"consumer": {"id": "x", "groups": ["a", 2]}, "product": "p"},
        "`role`": {"consumer": {"id": "x", "role": "admin"}, "product": "p"},
        "`product`": {"consumer": "bob"},
    }
    for named, doc in cases.items():
        try:
            read_request(doc)
        except RequestError as exc:
            assert named in str(exc) and "\n" not in str(exc), (doc, str(exc))
        else:
            raise AssertionError(f"accepted: {doc}")
