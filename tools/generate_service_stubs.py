"""Generate picker_discovery/_service_types.py from the bundled discovery document.

    python tools/generate_service_stubs.py          # write picker_discovery/_service_types.py
    python tools/generate_service_stubs.py --check  # exit 1 if the file is out of date

The module types the plain service ``picker_discovery.build()`` returns, for type checkers:
each schema becomes a ``TypedDict`` of its JSON object, each resource a ``Protocol`` whose
methods take exactly the keyword arguments googleapiclient's method accepts (the method's own
parameters, the document's standard parameters, googleapiclient's extra query parameters and
``body``, named as googleapiclient names them), and return an ``HttpRequest`` whose
``execute()`` returns the method's response schema. At run time the service stays
googleapiclient's own ``Resource``. A parameter or property shape the generator does not know
stops it with an error instead of guessing.
"""

from __future__ import annotations

import argparse
import json
import keyword
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "discovery_cache" / "photospicker.v1.json"
TARGET = ROOT / "picker_discovery" / "_service_types.py"
WIDTH = 100

# What googleapiclient.discovery adds to every method (2.x): undocumented query parameters,
# and ``body`` for methods that send a request body. Mirrored here (not imported) so that the
# generated file depends only on the document; tests/test_service_types.py checks each
# generated method against the real Resource's method.
STACK_QUERY_PARAMETERS = ("trace", "pp", "userip", "strict")
HTTP_PAYLOAD_METHODS = frozenset({"PUT", "POST", "PATCH"})
PAGE_TOKEN_NAMES = ("pageToken", "nextPageToken")
RESERVED_WORDS = frozenset({"body"})

PARAM_TYPES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}
JSON_TYPES: Mapping[tuple[Any, Any], str] = {
    ("string", None): "str",
    ("string", "google-datetime"): "str",
    ("string", "google-duration"): "str",
    ("string", "google-fieldmask"): "str",
    ("string", "byte"): "str",
    ("string", "int64"): "str",
    ("string", "uint64"): "str",
    ("integer", "int32"): "int",
    ("integer", "uint32"): "int",
    ("integer", None): "int",
    ("number", "float"): "float",
    ("number", "double"): "float",
    ("number", None): "float",
    ("boolean", None): "bool",
}


def key2param(key: str) -> str:
    """The keyword googleapiclient gives the parameter ``key`` (its ``key2param``)."""
    name = "" if key[:1].isalpha() else "x"
    return name + "".join(c if c.isalnum() else "_" for c in key)


def fix_method_name(name: str) -> str:
    """The attribute googleapiclient gives the method ``name`` (its ``fix_method_name``)."""
    name = name.replace("$", "_").replace("-", "_")
    return name + "_" if keyword.iskeyword(name) or name in RESERVED_WORDS else name


def class_name(name: str) -> str:
    return name[:1].upper() + name[1:]


def json_class(schema: str) -> str:
    """The TypedDict of a schema's JSON object."""
    return f"{schema}Json"


def doc_lines(text: str, indent: int) -> list[str]:
    """A docstring's lines, wrapped to the line length."""
    pad = " " * indent
    body = " ".join(text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').split())
    if body.endswith('"'):
        body += " "
    one = f'{pad}"""{body}"""'
    if len(one) <= WIDTH:
        return [one]
    lines = textwrap.wrap(body, WIDTH - indent - 3)
    return [pad + '"""' + lines[0], *[pad + line for line in lines[1:]], pad + '"""']


def comment_lines(text: str, indent: int) -> list[str]:
    pad = " " * indent
    body = " ".join(text.split())
    return [pad + "# " + line for line in textwrap.wrap(body, WIDTH - indent - 2)] if body else []


def property_type(where: str, prop: Mapping[str, Any]) -> str:
    """The type of one JSON property, as the service sends it (int64 stays a string)."""
    if "$ref" in prop:
        return json_class(str(prop["$ref"]))
    kind, fmt = prop.get("type"), prop.get("format")
    if kind == "array":
        return f"list[{property_type(where, prop.get('items', {}))}]"
    if kind == "object" and "additionalProperties" in prop:
        return f"dict[str, {property_type(where, prop['additionalProperties'])}]"
    if (kind, fmt) not in JSON_TYPES:
        raise SystemExit(f"{where}: type {kind!r} format {fmt!r} is not supported")
    return JSON_TYPES[(kind, fmt)]


def render_schema(name: str, schema: Mapping[str, Any]) -> list[str]:
    lines = ["", "", f"class {json_class(name)}(TypedDict, total=False):"]
    lines += doc_lines(f"The JSON object of {name}: {schema.get('description') or name}", 4)
    properties: Mapping[str, Any] = schema.get("properties") or {}
    if properties:
        lines.append("")
    for prop in sorted(properties):
        if not prop.isidentifier() or keyword.iskeyword(prop):
            raise SystemExit(f"{name}.{prop}: cannot be a TypedDict key in class syntax")
        description = str(properties[prop].get("description", ""))
        values = properties[prop].get("enum")
        if values:  # kept a str: the service may send a value this document does not list
            description += " One of: " + ", ".join(str(v) for v in values) + "."
        lines += comment_lines(description, 4)
        lines.append(f"    {prop}: {property_type(f'{name}.{prop}', properties[prop])}")
    return lines


def parameter_type(where: str, desc: Mapping[str, Any]) -> str:
    kind = desc.get("type", "string")
    if desc.get("enum"):
        py = "Literal[" + ", ".join(json.dumps(str(v)) for v in desc["enum"]) + "]"
    elif kind in PARAM_TYPES:
        py = PARAM_TYPES[kind]
    else:
        raise SystemExit(f"{where}: parameter type {kind!r} is not supported")
    # builtins.list: in a resource class, a method named ``list`` hides the builtin.
    return f"{py} | builtins.list[{py}]" if desc.get("repeated") else py


def method_parameters(
    document: Mapping[str, Any], where: str, method: Mapping[str, Any]
) -> list[tuple[str, str, bool]]:
    """``(keyword, type, required)`` for each argument googleapiclient's method accepts."""
    parameters: dict[str, Any] = dict(method.get("parameters") or {})
    parameters.update(document.get("parameters") or {})
    for name in STACK_QUERY_PARAMETERS:
        parameters[name] = {"type": "string", "location": "query"}
    arguments: dict[str, tuple[str, str, bool]] = {}
    for name, desc in sorted(parameters.items()):
        keyword_name = key2param(name)
        py = parameter_type(f"{where}({name})", desc)
        arguments[keyword_name] = (keyword_name, py, bool(desc.get("required")))
    if method.get("httpMethod") in HTTP_PAYLOAD_METHODS and "request" in method:
        arguments["body"] = ("body", json_class(str(method["request"]["$ref"])), False)
    if method.get("mediaUpload") or method.get("supportsMediaDownload"):
        raise SystemExit(f"{where}: media upload and download methods are not supported")
    return sorted(arguments.values(), key=lambda a: (not a[2], a[0]))


def response_type(method: Mapping[str, Any]) -> str:
    response = method.get("response")
    return json_class(str(response["$ref"])) if response else "dict[str, Any]"


def schema_properties(document: Mapping[str, Any], ref: Any) -> Mapping[str, Any]:
    if not isinstance(ref, Mapping) or "$ref" not in ref:
        return {}
    schema = document.get("schemas", {}).get(ref["$ref"], {})
    return schema.get("properties") or {}


def has_next_method(document: Mapping[str, Any], method: Mapping[str, Any]) -> bool:
    """Whether googleapiclient adds ``<method>_next`` (a page token in and out)."""
    response = schema_properties(document, method.get("response"))
    if not any(name in response for name in PAGE_TOKEN_NAMES):
        return False
    sources = (method.get("parameters") or {}, schema_properties(document, method.get("request")))
    return any(name in source for source in sources for name in PAGE_TOKEN_NAMES)


def render_resource(
    document: Mapping[str, Any], cls: str, resource: Mapping[str, Any], *, root: bool
) -> list[str]:
    lines = ["", "", f"class {cls}(Protocol):"]
    what = "The photospicker v1 service" if root else f"The ``{cls}`` collection"
    lines += doc_lines(f"{what}: a googleapiclient ``Resource`` at run time.", 4)
    for name in sorted(resource.get("resources") or {}):
        sub = class_name(name) + "Resource"
        lines += ["", f"    def {fix_method_name(name)}(self) -> {sub}: ..."]
    for name in sorted(resource.get("methods") or {}):
        method = resource["methods"][name]
        where = str(method.get("id", name))
        answer = response_type(method)
        lines += ["", f"    def {fix_method_name(name)}(", "        self,", "        *,"]
        for arg, py, required in method_parameters(document, where, method):
            lines.append(
                f"        {arg}: {py}," if required else f"        {arg}: {py} | None = None,"
            )
        lines.append(f"    ) -> HttpRequest[{answer}]:")
        lines += doc_lines(f"{where}: {method.get('description', '')}", 8)
        lines.append("        ...")
        if has_next_method(document, method):
            lines += [
                "",
                f"    def {fix_method_name(name + '_next')}(",
                "        self,",
                f"        previous_request: HttpRequest[{answer}],",
                f"        previous_response: {answer},",
                f"    ) -> HttpRequest[{answer}] | None:",
                '        """The request for the next page, or None after the last page."""',
                "        ...",
            ]
    if root:
        lines += [
            "",
            "    def new_batch_http_request(",
            "        self, callback: Callable[[str, Any, Exception | None], object] | None = None",
            "    ) -> Any: ...",
        ]
    lines += [
        "",
        "    def close(self) -> None: ...",
        "",
        f"    def __enter__(self) -> {cls}: ...",
        "",
        "    def __exit__(self, exc_type: object, exc: object, exc_tb: object) -> None: ...",
    ]
    return lines


def resource_classes(document: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """Every nested resource, deepest first, named after its key."""
    found: list[tuple[str, Mapping[str, Any]]] = []

    def walk(resources: Mapping[str, Any]) -> None:
        for name in sorted(resources):
            walk(resources[name].get("resources") or {})
            found.append((class_name(name) + "Resource", resources[name]))

    walk(document.get("resources") or {})
    names = [name for name, _ in found]
    if len(set(names)) != len(names):
        raise SystemExit(f"two resources would share a class name: {sorted(names)}")
    return found


def render(document: Mapping[str, Any]) -> str:
    """The source of picker_discovery/_service_types.py for ``document``."""
    revision = document.get("revision", "unknown")
    name = str(document.get("name", "service"))
    version = str(document.get("version", ""))
    root = class_name(name) + "Resource"
    schemas: Mapping[str, Any] = document.get("schemas", {})
    resources = resource_classes(document)
    names = sorted(
        ["HttpRequest", root, *(cls for cls, _ in resources), *(json_class(s) for s in schemas)]
    )
    body = []
    for cls, resource in resources:
        body += render_resource(document, cls, resource, root=False)
    body += render_resource(document, root, document, root=True)
    needs_builtins = any("builtins." in line for line in body)
    lines = [
        f'"""Static types of the plain {name} {version} service, for type checkers.',
        "",
        "Generated by tools/generate_service_stubs.py from discovery_cache/photospicker.v1.json",
        f"(revision {revision}). Do not edit: change the generator or the document and run",
        "``make generate``; a test fails when this file is out of date.",
        "",
        "``picker_discovery.build()`` is annotated to return",
        f":class:`{root}`, so a type checker rejects a misspelt method, parameter or",
        "body field on ``service.sessions()...``. At run time the service is googleapiclient's own",
        "``Resource``: these Protocol classes only describe it, and the package imports this",
        "module only while type checking.",
        "",
        "The TypedDicts are the JSON objects as sent: int64 values and timestamps are strings,",
        "and an enum is a ``str`` (the service may send a value this document does not list).",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        *(["import builtins"] if needs_builtins else []),
        "from collections.abc import Callable",
        "from typing import TYPE_CHECKING, Any, Literal, Protocol, TypedDict, TypeVar",
        "",
        "if TYPE_CHECKING:",
        "    from picker_discovery._types import HttpResponse, HttpTransport",
        "",
        "__all__ = [",
        *[f'    "{n}",' for n in names],
        "]",
        "",
        'REVISION = "' + str(revision) + '"',
        '"""The revision of the discovery document these types were generated from."""',
        "",
        '_T_co = TypeVar("_T_co", covariant=True)',
        "",
        "",
        "class HttpRequest(Protocol[_T_co]):",
        '    """googleapiclient\'s ``HttpRequest``, whose ``execute()`` returns ``_T_co``."""',
        "",
        "    uri: str",
        "    method: str",
        "    body: str | None",
        "    headers: dict[str, str]",
        "    methodId: str",
        "    http: HttpTransport | None",
        "",
        "    def execute(self, http: HttpTransport | None = None, num_retries: int = 0)"
        " -> _T_co: ...",
        "",
        "    def add_response_callback(self, cb: Callable[[HttpResponse], object]) -> None: ...",
        "",
        "    def to_json(self) -> str: ...",
    ]
    for schema in sorted(schemas):
        lines += render_schema(schema, schemas[schema])
    lines += body
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = parser.parse_args(argv)
    text = render(json.loads(DOCUMENT.read_text(encoding="utf-8")))
    current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
    if args.check:
        if current != text:
            print(f"{TARGET} is out of date; run make generate", file=sys.stderr)
            return 1
        return 0
    if current != text:
        TARGET.write_text(text, encoding="utf-8")
        print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
