"""The plain service's generated types: up to date with the document, true to googleapiclient's
real Resource, and strict enough that mypy rejects a misspelt call on it."""

from __future__ import annotations

import importlib.util
import inspect
import json
import re
import subprocess
import sys
import textwrap
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from googleapiclient.discovery import ResourceMethodParameters

import picker_discovery
from picker_discovery import _service_types
from picker_discovery.testing import FakeHttp, canned

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "discovery_cache" / "photospicker.v1.json"
TARGET = ROOT / "picker_discovery" / "_service_types.py"
# Members every googleapiclient Resource has, whatever the document says.
RESOURCE_BASICS = {"close", "__enter__", "__exit__"}


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "generate_service_stubs", ROOT / "tools" / "generate_service_stubs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DOCUMENT.read_text("utf-8"))
    return document


def test_service_types_are_up_to_date_with_the_bundled_document() -> None:
    expected = _generator().render(_document())
    actual = TARGET.read_text("utf-8")
    assert actual == expected, "picker_discovery/_service_types.py is out of date: make generate"
    assert _document()["revision"] == _service_types.REVISION


def test_the_generator_follows_a_changed_document() -> None:
    document = _document()
    parameters = document["resources"]["mediaItems"]["methods"]["list"]["parameters"]
    parameters["orderBy"] = {"type": "string", "location": "query"}
    parameters["types"] = {"type": "string", "location": "query", "repeated": True}
    text = _generator().render(document)
    assert "        orderBy: str | None = None," in text
    # In a class with a method named list, the builtin must be spelt out.
    assert "        types: str | builtins.list[str] | None = None," in text
    assert "\nimport builtins\n" in text
    compile(text, "_service_types.py", "exec")
    assert text != TARGET.read_text("utf-8")


def test_the_generator_refuses_a_shape_it_does_not_know() -> None:
    document = _document()
    document["schemas"]["PollingConfig"]["properties"]["blob"] = {"type": "any"}
    with pytest.raises(SystemExit, match=r"PollingConfig\.blob"):
        _generator().render(document)


def _protocol_methods(cls: type) -> dict[str, Callable[..., Any]]:
    return {
        name: member
        for name, member in vars(cls).items()
        if callable(member) and (not name.startswith("_") or name in RESOURCE_BASICS)
    }


def _real_parameters(method: Callable[..., Any]) -> ResourceMethodParameters:
    """The parameter table googleapiclient's generated method checks its arguments against."""
    for cell in getattr(method, "__func__", method).__closure__ or ():
        if isinstance(cell.cell_contents, ResourceMethodParameters):
            return cell.cell_contents
    raise AssertionError(f"{method} keeps no ResourceMethodParameters: googleapiclient changed")


def _example(annotation: str) -> Any:
    """A value of the stub's parameter type that googleapiclient accepts."""
    literal = re.match(r"Literal\[['\"]([^'\"]*)", annotation)
    if literal:
        return literal.group(1)
    kind = annotation.split(" | ")[0]
    return {"str": "x", "int": 1, "float": 1.5, "bool": True}.get(kind, {})


@pytest.mark.parametrize(
    ("resource", "stub"),
    [
        ("sessions", _service_types.SessionsResource),
        ("mediaItems", _service_types.MediaItemsResource),
    ],
)
def test_each_stub_method_takes_exactly_the_real_methods_arguments(
    resource: str, stub: type
) -> None:
    service: Any = picker_discovery.build(http=canned.mock("sessions.delete"))
    real = getattr(service, resource)()
    methods = _protocol_methods(stub)
    assert set(methods) == set(real._dynamic_attrs) | RESOURCE_BASICS
    for name, method in methods.items():
        if name in RESOURCE_BASICS or name.endswith("_next"):
            continue
        signature = inspect.signature(method)
        arguments = {p.name: p for p in signature.parameters.values() if p.name != "self"}
        table = _real_parameters(getattr(real, name))
        assert set(arguments) == set(table.argmap), name
        required = {n for n, p in arguments.items() if p.default is inspect.Parameter.empty}
        assert required == set(table.required_params), name
        # Every argument the stub allows, at once, builds a request (nothing is sent).
        request = getattr(real, name)(
            **{n: _example(str(p.annotation)) for n, p in arguments.items()}
        )
        assert request.methodId.endswith(f".{name}")


def test_the_root_stub_has_the_real_services_resources() -> None:
    service: Any = picker_discovery.build(http=canned.mock("sessions.delete"))
    methods = _protocol_methods(_service_types.PhotospickerResource)
    assert set(methods) == set(service._dynamic_attrs) | RESOURCE_BASICS


def _check_typed(value: Any, hint: Any, where: str) -> None:
    """Fail unless the JSON ``value`` fits the generated type ``hint``, all the way down."""
    if typing.is_typeddict(hint):
        assert isinstance(value, dict), where
        fields = typing.get_type_hints(hint)
        assert set(value) <= set(fields), f"{where}: {set(value) - set(fields)} not typed"
        for key, item in value.items():
            _check_typed(item, fields[key], f"{where}.{key}")
    elif typing.get_origin(hint) is list:
        assert isinstance(value, list), where
        for index, item in enumerate(value):
            _check_typed(item, typing.get_args(hint)[0], f"{where}[{index}]")
    elif hint is float:
        assert isinstance(value, (int, float)) and not isinstance(value, bool), where
    else:
        assert isinstance(value, hint), f"{where}: {value!r} is not {hint}"


def test_the_fakes_answers_fit_the_typed_answers() -> None:
    """Every field a real answer (the fake's, written from the document) carries is typed."""
    http = FakeHttp()
    service = picker_discovery.build(http=http)
    created = service.sessions().create(body={"pickingConfig": {"maxItemCount": "3"}}).execute()
    polled = service.sessions().get(sessionId=created["id"]).execute()
    picked = http.backend.pick(created["id"], first=3)
    done = service.sessions().get(sessionId=created["id"]).execute()
    page = service.mediaItems().list(sessionId=created["id"], pageSize=2).execute()
    deleted = service.sessions().delete(sessionId=created["id"]).execute()
    for answer in (created, polled, done):
        _check_typed(answer, _service_types.PickingSessionJson, "PickingSession")
    _check_typed(page, _service_types.ListMediaItemsResponseJson, "ListMediaItemsResponse")
    _check_typed(deleted, _service_types.EmptyJson, "Empty")
    assert [item["id"] for item in page["mediaItems"]] == picked[:2]
    assert "pollingConfig" in created and "nextPageToken" in page


USER_CODE_WITH_MISTAKES = """\
import picker_discovery

service = picker_discovery.build()
service.sessions().gett(sessionId="x")
service.sessions().get(sesionId="x")
service.mediaItems().list(sessionId=1)
service.sessions().create(body={"pickingconfig": {"maxItemCount": "5"}})
session = service.sessions().get(sessionId="x").execute()
uri: str = session["pickerUrl"]
service.mediaItems().list(sessionId="x", pageSize="10")
service.sessions().delete()
service.photos()
service.sessions().get(sessionId="x", alt="xml")
picker_discovery.build(credentials="a token")
picker_discovery.build(http=object())
picker_discovery.PickerClient(credentials="a token")
"""
# (line, error code, what the message names) for each mistake above, in order.
EXPECTED_ERRORS = [
    (4, "attr-defined", '"gett"'),
    (5, "call-arg", '"sesionId"'),
    (6, "arg-type", '"sessionId"'),
    (7, "arg-type", '"body"'),
    (9, "typeddict-item", '"pickerUrl"'),
    (10, "arg-type", '"pageSize"'),
    (11, "call-arg", '"sessionId"'),
    (12, "attr-defined", '"photos"'),
    (13, "arg-type", '"alt"'),
    (14, "arg-type", '"credentials"'),
    (15, "arg-type", '"http"'),
    (16, "arg-type", '"credentials"'),
]

CORRECT_USER_CODE = """\
from __future__ import annotations

import google.oauth2.credentials
import httplib2

import picker_discovery
from picker_discovery.testing import FakeHttp


class Answer(dict[str, str]):
    status = 200
    reason = "OK"


class Transport:
    def request(self, uri: str, method: str = "GET", **kwargs: object) -> tuple[Answer, bytes]:
        return Answer(), b"{}"


credentials = google.oauth2.credentials.Credentials(token="t")
picker_discovery.build(http=Transport())
picker_discovery.build(http=httplib2.Http())
picker_discovery.build(http=FakeHttp())
picker_discovery.build(credentials=credentials)
picker_discovery.PickerClient(http=Transport(), journal=False)
picker_discovery.PickerClient(credentials=credentials, http_factory=Transport, journal=False)

with picker_discovery.build() as service:
    sessions = service.sessions()
    session = sessions.create(
        body={"pickingConfig": {"maxItemCount": "5"}}, requestId=None
    ).execute(num_retries=2)
    uri: str = session["pickerUri"]
    interval: str = session.get("pollingConfig", {}).get("pollInterval", "5s")
    again = sessions.get(sessionId=session["id"], fields="mediaItemsSet", x__xgafv="2").execute()
    picked: bool = again.get("mediaItemsSet", False)
    items = service.mediaItems()
    request = items.list(sessionId=session["id"], pageSize=100, pageToken=None, prettyPrint=False)
    while True:
        page = request.execute()
        for item in page.get("mediaItems", []):
            base: str = item["mediaFile"]["baseUrl"]
            width: int = item["mediaFile"]["mediaFileMetadata"]["width"]
        following = items.list_next(request, page)
        if following is None:
            break
        request = following
    sessions.delete(sessionId=session["id"]).execute()
"""


@pytest.mark.timeout(300)  # a cold mypy run reads google-auth's and requests' types
def test_mypy_rejects_misspelt_calls_on_the_plain_service(tmp_path: Path) -> None:
    (tmp_path / "mistakes.py").write_text(USER_CODE_WITH_MISTAKES)
    (tmp_path / "correct.py").write_text(CORRECT_USER_CODE)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--no-pretty",
            "--show-error-codes",
            str(tmp_path / "mistakes.py"),
            str(tmp_path / "correct.py"),
        ],
        cwd=ROOT,  # where a user's project finds picker_discovery: on the import path
        capture_output=True,
        text=True,
        timeout=280,
    )
    errors = [line for line in run.stdout.splitlines() if ": error: " in line]
    assert not [e for e in errors if "correct.py" in e], run.stdout
    found = []
    for line in errors:
        where, _, message = line.partition(": error: ")
        number = int(where.rsplit(":", 1)[1])
        code = message.rsplit("[", 1)[1].rstrip("]")
        found.append((number, code, message))
    for number, code, named in EXPECTED_ERRORS:
        assert any(n == number and c == code and named in m for n, c, m in found), (
            f"mypy did not report {code} naming {named} on line {number}:\n{run.stdout}"
        )
    assert {n for n, _, _ in found} == {n for n, _, _ in EXPECTED_ERRORS}, run.stdout
    assert run.returncode == 1, run.stdout + run.stderr


def test_building_imports_no_type_module_at_run_time() -> None:
    code = textwrap.dedent(
        """
        import sys, httplib2, picker_discovery
        picker_discovery.build(http=httplib2.Http())
        print(sorted(m for m in sys.modules if m.startswith("picker_discovery.")))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert "picker_discovery._service_types" not in out
    assert "picker_discovery._types" not in out
