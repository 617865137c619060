"""Generate picker_discovery/models.py from the bundled discovery document.

    python tools/generate_models.py          # write picker_discovery/models.py
    python tools/generate_models.py --check  # exit 1 if the file is out of date

Every schema with properties becomes a frozen dataclass with snake_case attributes, parsed
values (``google-datetime`` -> aware ``datetime``, ``google-duration`` -> ``timedelta``,
``int64`` strings -> ``int``, enums -> an ``Enum`` with an ``UNKNOWN`` member), unknown fields
kept in ``extra``, the JSON object as received in ``raw``, and ``from_dict``/``to_dict``.
A property shape the generator does not know stops it with an error instead of guessing.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "discovery_cache" / "photospicker.v1.json"
TARGET = ROOT / "picker_discovery" / "models.py"
WIDTH = 100

# Enum names where the property name alone would make a poor class name.
ENUM_NAMES: Mapping[tuple[str, str], str] = {("PickedMediaItem", "type"): "MediaType"}
# Models that show themselves in notebooks: (short repr, HTML) functions of
# picker_discovery.notebook._render. They are imported when called, never when models.py is
# imported.
DISPLAYS: Mapping[str, tuple[str, str]] = {
    "PickingSession": ("session_repr", "session_html"),
    "PickedMediaItem": ("item_repr", "item_html"),
}
# The value readers of picker_discovery._wire the models use.
READERS = (
    "read_boolean",
    "read_duration",
    "read_flag",
    "read_integer",
    "read_number",
    "read_string",
    "read_timestamp",
)
UNKNOWN_DOC = "A value this version of the library does not know; ``raw`` holds it as sent."


@dataclass(frozen=True)
class Field:
    json_name: str
    attr: str
    annotation: str
    default: str
    read: str
    write: str
    doc: str
    kind: str  # how _read_all reads it: string, flag, enum, message, messages, ...
    ref: str = ""  # the model or enum class of an enum, message or messages field


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _doc_text(text: str) -> str:
    return " ".join(text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').split())


def docstring(text: str, indent: int) -> list[str]:
    """A docstring's lines, wrapped to the line length, ending away from a quote."""
    pad = " " * indent
    body = _doc_text(text)
    if body.endswith('"'):
        body += " "
    one = f'{pad}"""{body}"""'
    if len(one) <= WIDTH:
        return [one]
    lines = textwrap.wrap(body, WIDTH - indent)
    lines[0] = '"""' + lines[0]
    if len(pad + lines[0]) > WIDTH:
        lines = ['"""', *textwrap.wrap(body, WIDTH - indent)]
    return [pad + line for line in lines] + [pad + '"""']


def enum_name(schema: str, prop: str) -> str:
    return ENUM_NAMES.get((schema, prop), prop[:1].upper() + prop[1:])


def field_for(schema: str, name: str, prop: Mapping[str, Any]) -> tuple[Field, dict[str, Any]]:
    """The dataclass field for one property, and the enum it needs (or an empty dict)."""
    attr = snake(name)
    doc = str(prop.get("description", "")).strip()
    kind, fmt = prop.get("type"), prop.get("format")
    enum: dict[str, Any] = {}
    if "$ref" in prop:
        ref = prop["$ref"]
        return Field(
            name,
            attr,
            f"{ref} | None",
            "None",
            f"message_of({ref})",
            f'w.message("{name}", self.{attr})',
            doc,
            "message",
            ref,
        ), enum
    if kind == "array":
        items = prop.get("items", {})
        if "$ref" not in items:
            raise SystemExit(f"{schema}.{name}: arrays of {items!r} are not supported")
        ref = items["$ref"]
        return Field(
            name,
            attr,
            f"tuple[{ref}, ...]",
            "()",
            f"messages_of({ref})",
            f'w.messages("{name}", self.{attr})',
            doc,
            "messages",
            ref,
        ), enum
    if kind == "string" and "enum" in prop:
        cls = enum_name(schema, name)
        enum = {
            "name": cls,
            "doc": doc,
            "values": list(prop["enum"]),
            "docs": list(prop.get("enumDescriptions", [])),
        }
        read, write = f"enum_of({cls})", f'w.enum("{name}", self.{attr})'
        return Field(name, attr, f"{cls} | None", "None", read, write, doc, "enum", cls), enum
    simple: dict[tuple[Any, Any], tuple[str, str, str]] = {
        ("string", None): ("str", "string", "value"),
        ("string", "google-datetime"): ("datetime", "timestamp", "timestamp"),
        ("string", "google-duration"): ("timedelta", "duration", "duration"),
        ("string", "int64"): ("int", "integer", "int64"),
        ("string", "uint64"): ("int", "integer", "int64"),
        ("integer", "int32"): ("int", "integer", "value"),
        ("integer", "uint32"): ("int", "integer", "value"),
        ("integer", None): ("int", "integer", "value"),
        ("number", "float"): ("float", "number", "number"),
        ("number", "double"): ("float", "number", "number"),
        ("number", None): ("float", "number", "number"),
        ("boolean", None): ("bool", "boolean", "value"),
    }
    if (kind, fmt) not in simple:
        raise SystemExit(f"{schema}.{name}: type {kind!r} format {fmt!r} is not supported")
    py, reader, writer = simple[(kind, fmt)]
    if kind == "boolean" and prop.get("readOnly"):
        # An output-only flag the service leaves out when false (proto3 JSON omits defaults).
        return Field(
            name,
            attr,
            "bool",
            "False",
            "read_flag",
            f'w.value("{name}", self.{attr})',
            doc,
            "flag",
        ), enum
    return Field(
        name,
        attr,
        f"{py} | None",
        "None",
        f"read_{reader}",
        f'w.{writer}("{name}", self.{attr})',
        doc,
        reader,
    ), enum


def render_enum(enum: Mapping[str, Any]) -> list[str]:
    lines = ["", "", f"class {enum['name']}(UnknownEnum):"]
    lines += docstring(enum["doc"] or f"The values of {enum['name']}.", 4)
    lines.append("")
    values = list(enum["values"])
    docs = (list(enum["docs"]) + [""] * len(values))[: len(values)]
    for value, doc in [*zip(values, docs, strict=True), ("UNKNOWN", UNKNOWN_DOC)]:
        if not value.isidentifier() or (value == "UNKNOWN" and doc != UNKNOWN_DOC):
            raise SystemExit(f"enum {enum['name']}: cannot name a member for {value!r}")
        lines.append(f'    {value} = "{value}"')
        if doc:
            lines += docstring(doc, 4)
    return lines


def tuple_lines(head: str, items: list[str], indent: int) -> list[str]:
    """``head`` followed by a tuple of ``items`` (already quoted), laid out as ruff does."""
    pad = " " * indent
    one = f"{pad}{head}({', '.join(items)})"
    if len(one) <= WIDTH:
        return [one]
    return [f"{pad}{head}(", *[f"{pad}    {item}," for item in items], f"{pad})"]


def render_model(name: str, schema: Mapping[str, Any], fields: list[Field]) -> list[str]:
    # A dataclass written out: LazyModel gives the methods @dataclass(frozen=True, slots=True)
    # would make (equality, hash, frozen, pickling state, its fields on first use), without
    # compiling them at import. The repr is LazyModel's (the dataclass form, never raising)
    # or the display's own.
    lines = ["", "", f"class {name}(LazyModel):"]
    summary = textwrap.wrap(_doc_text(str(schema.get("description") or name)), WIDTH - 7)
    lines += ['    """' + summary[0], *[f"    {line}" for line in summary[1:]]]
    lines += ["", "    Attributes:"]
    for f in fields:
        text = f"{f.attr}: {_doc_text(f.doc) or f.json_name}"
        wrapped = textwrap.wrap(text, WIDTH - 8, subsequent_indent="    ")
        lines += ["        " + w for w in wrapped]
    extra = "extra: fields the document does not describe, kept as sent."
    raw = "raw: the JSON object as received (empty for objects built in code)."
    lines += [f"        {extra}", f"        {raw}", '    """', ""]
    names = [f.attr for f in fields] + ["extra", "raw"]
    lines += tuple_lines("__match_args__ = ", [f'"{n}"' for n in names], 4)
    lines += ["    __slots__ = __match_args__", ""]
    # Type checkers see the fields read-only, as in a frozen dataclass (they are slots).
    lines += ["    if TYPE_CHECKING:"]
    annotations = [(f.attr, f.annotation) for f in fields]
    annotations += [("extra", "Mapping[str, Any]"), ("raw", "Mapping[str, Any]")]
    for attr, annotation in annotations:
        lines += ["", "        @property", f"        def {attr}(self) -> {annotation}: ..."]
    lines.append("")
    known = ", ".join(f'"{f.json_name}"' for f in fields)
    one = f"    JSON_FIELDS: ClassVar[frozenset[str]] = frozenset({{{known}}})"
    if len(one) <= WIDTH:
        lines.append(one)
    else:
        lines += [
            "    JSON_FIELDS: ClassVar[frozenset[str]] = frozenset(",
            f"        {{{known}}}",
            "    )",
        ]
    lines += ["", "    def __init__(", "        self,"]
    lines += [f"        {f.attr}: {f.annotation} = {f.default}," for f in fields]
    lines += [
        "        extra: Mapping[str, Any] = EMPTY,",
        "        raw: Mapping[str, Any] = EMPTY,",
        "    ) -> None:",
    ]
    lines += [f'        _set(self, "{n}", {n})' for n in names]
    lines += [
        "",
        "    @classmethod",
        f"    def from_dict(cls, data: Mapping[str, Any]) -> {name}:",
        f'        """Parse a {name} JSON object, every field now; raises ``MalformedResponse``',
        '        if malformed. ``from_answer`` reads each field on first access instead."""',
        "        return cls._parsed(data)",
        "",
        "    def to_dict(self) -> dict[str, Any]:",
        f'        """This {name} as a JSON object: unset fields left out, ``extra`` kept."""',
        "        w = Writer(self.extra, self.raw)",
    ]
    lines += [f"        {f.write}" for f in fields]
    lines.append("        return w.data")
    lines += render_read_all(name, fields)
    if name in DISPLAYS:
        short, rich = DISPLAYS[name]
        lines += [
            "",
            "    def __repr__(self) -> str:",
            f'        """A short repr: {short}() of picker_discovery.notebook._render (the',
            '        dataclass form when a field the service sent cannot be read)."""',
            f"        from picker_discovery.notebook._render import {short}",
            "",
            "        try:",
            f"            return {short}(self)",
            "        except MalformedResponse:",
            "            return LazyModel.__repr__(self)",
            "",
            "    def _repr_html_(self) -> str:",
            f'        """How Jupyter shows it: {rich}() of picker_discovery.notebook._render',
            '        (the repr, escaped, when a field the service sent cannot be read)."""',
            f"        from picker_discovery.notebook._render import {rich}",
            "",
            "        try:",
            f"            return {rich}(self)",
            "        except MalformedResponse:",
            "            import html",
            "",
            '            return f"<pre>{html.escape(repr(self))}</pre>"',
        ]
    return lines


# How _read_all reads a field of each kind whose reader passes some values as they are: the
# type those values have (None passes too), and the reader of the rest.
PASSING = {
    "string": ("str", "read_string"),
    "boolean": ("bool", "read_boolean"),
    "integer": ("int", "read_integer"),
    "number": ("float", "read_number"),
}


def render_field_read(schema: str, f: Field) -> list[str]:
    """Straight-line code reading one field of ``data`` into its slot, for ``_read_all``."""
    args = f'"{schema}", "{f.json_name}", value'
    lines = [f'        value = data.get("{f.json_name}")']
    if f.kind in PASSING:
        py, read = PASSING[f.kind]
        lines += [
            f"        if value is not None and type(value) is not {py}:",
            f"            value = {read}({args})",
        ]
    elif f.kind == "flag":
        lines += [
            "        if value is not None and type(value) is not bool:",
            f"            value = read_flag({args})",
        ]
        lines.append(f'        _set(self, "{f.attr}", value is True)')
        return lines
    elif f.kind in ("timestamp", "duration"):
        lines += ["        if value is not None:", f"            value = read_{f.kind}({args})"]
    elif f.kind == "enum":
        lines += [
            "        if value is not None:",
            f"            value = read_enum({f.ref}, {args})",
        ]
    elif f.kind == "message":
        lines += [
            "        if value is not None:",
            f"            value = read_message({f.ref}, {args})",
            "            value._read_all()",
        ]
    elif f.kind == "messages":
        lines += [
            f"        value = read_messages({f.ref}, {args})",
            "        for part in value:",
            "            part._read_all()",
        ]
    else:
        raise SystemExit(f"{schema}.{f.json_name}: no eager reader for {f.kind!r}")
    lines.append(f'        _set(self, "{f.attr}", value)')
    return lines


def render_read_all(name: str, fields: list[Field]) -> list[str]:
    """``_read_all``: every field read now, in one frame (nested models in one each)."""
    lines = [
        "",
        "    def _read_all(self) -> None:",
        "        data = self._data",
    ]
    for f in fields:
        lines += render_field_read(name, f)
    lines.append('        _set(self, "extra", extra_of(data, self.JSON_FIELDS))')
    return lines


def render_field_check(schema: str, f: Field) -> list[str]:
    """Straight-line code checking one field of ``data`` as ``_read_all`` would read it, for
    ``_check``: the same error for the same field, nothing made (nested objects checked in
    their own ``_check``)."""
    args = f'"{schema}", "{f.json_name}", value'
    lines = [f'    value = data.get("{f.json_name}")']
    if f.kind == "integer":  # decimal strings too ("2000"), short enough for int() to read
        lines += [
            "    if value is not None and type(value) is not int and not is_digits(value):",
            f"        read_integer({args})",
        ]
    elif f.kind in PASSING or f.kind in ("flag", "enum"):
        py, read = PASSING.get(f.kind, ("bool", "read_flag"))
        if f.kind == "enum":
            py, read = "str", "read_string"  # any string is a member, UNKNOWN at worst
        lines += [
            f"    if value is not None and type(value) is not {py}:",
            f"        {read}({args})",
        ]
    elif f.kind == "timestamp":
        lines += ["    if value is not None:", f"        read_timestamp({args})"]
    elif f.kind == "duration":  # one read before is a check passed
        lines += [
            "    if value is not None and (type(value) is not str or value not in DURATIONS):",
            f"        read_duration({args})",
        ]
    elif f.kind == "message":
        lines += [
            "    if type(value) is dict:",
            f"        _check_{snake(f.ref)}(value)",
            "    elif value is not None:",
            f"        read_message({f.ref}, {args})._read_all()",
        ]
    elif f.kind == "messages":
        lines += [
            "    if type(value) is list and set(map(type, value)) <= DICTS_ONLY:",
            "        for part in value:",
            f"            _check_{snake(f.ref)}(part)",
            "    else:",
            f"        for item in read_messages({f.ref}, {args}):",
            "            item._read_all()",
        ]
    else:
        raise SystemExit(f"{schema}.{f.json_name}: no check for {f.kind!r}")
    return lines


def render_check(name: str, fields: list[Field]) -> list[str]:
    """``_check``: every field of a JSON object checked as ``_read_all`` reads it, nothing
    made: how ``_fill`` checks the items of an array without making them."""
    check = "_check_" + snake(name)
    lines = [
        "",
        "",
        f"def {check}(data: dict[str, Any]) -> None:",
        f'    """Raise ``MalformedResponse`` now if {name}._read_all would; make nothing."""',
    ]
    for f in fields:
        lines += render_field_check(name, f)
    lines += [
        f"    if not data.keys() <= {name}.JSON_FIELDS:",
        f"        extra_of(data, {name}.JSON_FIELDS)",
    ]
    return lines


def render_field_fill(schema: str, f: Field) -> list[str]:
    """Straight-line code reading one field of ``data`` into ``model``'s slot, for ``_fill``:
    as ``_read_all`` reads it, but a nested object filled the same way and an array of objects
    only checked (its items are made when it is first read)."""
    if f.kind == "messages":
        return render_field_check(schema, f)
    if f.kind == "message":
        args = f'"{schema}", "{f.json_name}", value'
        return [
            f'    value = data.get("{f.json_name}")',
            "    if type(value) is dict:",
            f"        value = _fill_{snake(f.ref)}({f.ref}._VIEW(value))",
            "    elif value is not None:",
            f"        value = read_message({f.ref}, {args})",
            "        value._read_all()",
            f'    _set(model, "{f.attr}", value)',
        ]
    return [line[4:].replace("_set(self,", "_set(model,") for line in render_field_read(schema, f)]


def render_fill(name: str, fields: list[Field]) -> list[str]:
    """``_fill``: every field of a model over a JSON object checked now, as ``_read_all`` reads
    it (the same error for the same field), and the value read kept; what ``_checked`` does
    for an answer that must be usable whole before it is kept."""
    fill = "_fill_" + snake(name)
    lines = [
        "",
        "",
        f"def {fill}(model: {name}) -> {name}:",
        f'    """Read {name}\'s fields into ``model`` now; only check arrays of objects."""',
        "    data = model._data",
    ]
    for f in fields:
        lines += render_field_fill(name, f)
    lines += [
        f'    _set(model, "extra", extra_of(data, {name}.JSON_FIELDS))',
        "    return model",
        "",
        "",
        f"{name}._FILL = {fill}",
    ]
    return lines


def render_view(name: str, fields: list[Field]) -> list[str]:
    """The model over a JSON object, its well-formed plain strings read (one look-up each)."""
    view = "_view_" + snake(name)
    lines = [
        "",
        "",
        f"def {view}(data: dict[str, Any]) -> {name}:",
        f"    model = {name}.__new__({name})",
        "    set_data(model, data)",
    ]
    for f in fields:
        if f.kind == "string":
            lines += [
                f'    value = data.get("{f.json_name}")',
                "    if type(value) is str:",
                f'        _set(model, "{f.attr}", value)',
            ]
    lines += ["    return model", "", "", f"{name}._VIEW = {view}"]
    return lines


def render(document: Mapping[str, Any]) -> str:
    """The source of picker_discovery/models.py for ``document``."""
    schemas: Mapping[str, Any] = document.get("schemas", {})
    enums: list[dict[str, Any]] = []
    models: list[tuple[str, Mapping[str, Any], list[Field]]] = []
    for name in sorted(schemas):
        schema = schemas[name]
        properties = schema.get("properties") or {}
        if not properties:
            continue  # Empty: nothing to type
        fields = []
        for prop_name in sorted(properties):
            f, enum = field_for(name, prop_name, properties[prop_name])
            generated = (
                "extra",
                "raw",
                "from_dict",
                "from_answer",
                "to_dict",
                "JSON_FIELDS",
                "_repr_html_",
            )
            if f.attr in generated:
                raise SystemExit(f"{name}.{prop_name}: clashes with a generated name")
            fields.append(f)
            if enum:
                enums.append(enum)
        models.append((name, schema, fields))
    names = sorted([e["name"] for e in enums] + [m[0] for m in models])
    revision = document.get("revision", "unknown")
    lines = [
        '"""Typed, immutable views of the photospicker v1 schemas.',
        "",
        "Generated by tools/generate_models.py from discovery_cache/photospicker.v1.json",
        f"(revision {revision}). Do not edit: change the generator or the document and run",
        "``make generate``; a test fails when this file is out of date.",
        "",
        "Each model is a frozen dataclass: ``Model.from_dict(json_object)`` parses what the",
        "service sent, ``model.to_dict()`` writes it back. Whatever JSON value a field holds,",
        "parsing gives a model or raises ``picker_discovery.errors.MalformedResponse`` (a",
        "``ValueError``) naming the schema and field, never another exception.",
        "``Model.from_answer(json_object)`` is the cheap way the clients read answers: no copy,",
        "and each field (nested models too) read on first access, where a malformed one raises",
        "``MalformedResponse``.",
        "Timestamps become aware UTC ``datetime`` values, durations ``timedelta`` values, int64",
        "strings ``int`` values; an enum value this version does not know becomes ``UNKNOWN``.",
        "Fields the document does not describe are kept in ``extra``; ``raw`` is the JSON object",
        "as received.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from collections.abc import Mapping",
        "from datetime import datetime, timedelta",
        "from typing import TYPE_CHECKING, Any, ClassVar",
        "",
        "from picker_discovery._convert import (",
        "    DICTS_ONLY,",
        "    EMPTY,",
        "    LazyModel,",
        "    UnknownEnum,",
        "    Writer,",
        "    enum_of,",
        "    extra_of,",
        "    message_of,",
        "    messages_of,",
        "    read_enum,",
        "    read_message,",
        "    read_messages,",
        "    readers,",
        "    set_data,",
        ")",
        "from picker_discovery._errorbase import MalformedResponse",
        "from picker_discovery._wire import (",
        "    DURATIONS,",
        "    is_digits,",
        *[f"    {n}," for n in READERS],
        ")",
        "",
        "__all__ = [",
        '    "REVISION",',
        *[f'    "{n}",' for n in names],
        "]",
        "",
        f'REVISION = "{revision}"',
        '"""The revision of the discovery document these models were generated from."""',
        "",
        "_set = object.__setattr__",
    ]
    for enum in sorted(enums, key=lambda e: str(e["name"])):
        lines += render_enum(enum)
    for name, schema, fields in models:
        lines += render_model(name, schema, fields)
    checked = _in_arrays(models)
    for name, _, fields in models:
        lines += render_view(name, fields)
        if name in checked:
            lines += render_check(name, fields)
        lines += render_fill(name, fields)
    lines += ["", ""]
    for name, _, fields in models:
        lines += render_readers(name, fields)
    return "\n".join(lines) + "\n"


def _in_arrays(models: list[tuple[str, Mapping[str, Any], list[Field]]]) -> set[str]:
    """The models an array of objects may hold, nested ones too: ``_fill`` checks those items
    with ``_check`` and leaves them to be made when the array is first read."""
    nested = {
        name: [f for f in fields if f.kind in ("message", "messages")] for name, _, fields in models
    }
    found: set[str] = set()
    todo = [f.ref for fields in nested.values() for f in fields if f.kind == "messages"]
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo += [f.ref for f in nested.get(name, [])]
    return found


def render_readers(name: str, fields: list[Field]) -> list[str]:
    """How each field of ``name`` is read from its JSON object, on first access."""
    lines = [f"{name}._READERS = readers(", f'    "{name}",', f"    {name}.JSON_FIELDS,", "    {"]
    lines += [f'        "{f.attr}": ("{f.json_name}", {f.read}),' for f in fields]
    lines += ["    },", ")"]
    return lines


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
