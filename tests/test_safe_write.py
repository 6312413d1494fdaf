"""Writing files and folders whole or not at all, and the one conversion to JSON."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path, PurePosixPath

import numpy as np
import pytest

from cancer_alpha import safe_write
from cancer_alpha.safe_write import (
    atomic_file,
    atomic_folder,
    json_text,
    jsonable,
    write_bytes,
    write_json,
    write_text,
)


class Boom(Exception):
    pass


def test_an_atomic_folder_appears_whole_and_replaces_the_old_one(tmp_path):
    target = tmp_path / "run"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with atomic_folder(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".run.")
        (tmp / "new.txt").write_text("new")
        assert (target / "old.txt").read_text() == "old"  # untouched until the block ends
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    assert [p.name for p in target.iterdir()] == ["new.txt"]


def test_an_atomic_folder_whose_writer_raises_leaves_nothing_behind(tmp_path):
    target = tmp_path / "run"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(Boom), atomic_folder(target) as tmp:
        (tmp / "half.txt").write_text("half")
        raise Boom
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no temporary folder
    assert [p.name for p in target.iterdir()] == ["old.txt"]
    assert (target / "old.txt").read_text() == "old"


def test_a_new_atomic_folder_whose_writer_raises_does_not_appear(tmp_path):
    with pytest.raises(Boom), atomic_folder(tmp_path / "sub" / "run"):
        raise Boom
    assert list((tmp_path / "sub").iterdir()) == []


def test_atomic_files_write_text_bytes_and_json(tmp_path):
    assert write_text(tmp_path / "a" / "t.txt", "é\n", encoding="utf-8").read_bytes() \
        == "é\n".encode()
    assert write_bytes(tmp_path / "b.bin", b"\x00\x01").read_bytes() == b"\x00\x01"
    path = write_json(tmp_path / "c.json", {"x": np.float32(0.5)}, indent=1)
    assert path.read_text() == '{\n "x": 0.5\n}\n'
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "b.bin", "c.json", "t.txt"]


@pytest.mark.parametrize("write", [
    lambda path: write_text(path, object()),  # not a string: fails midway
    lambda path: write_bytes(path, "not bytes"),
    lambda path: write_json(path, {"x": object()}),
])
def test_a_failed_atomic_file_leaves_the_old_content_and_no_temporary_file(tmp_path, write):
    target = tmp_path / "r.json"
    target.write_text("old")
    with pytest.raises(TypeError):
        write(target)
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
    assert target.read_text() == "old"


def test_a_file_another_library_writes_is_renamed_into_place_or_removed(tmp_path):
    target = tmp_path / "s.db"
    with atomic_file(target) as tmp:
        assert not tmp.exists() and tmp.parent == tmp_path
        tmp.write_bytes(b"db")
    assert target.read_bytes() == b"db"
    with pytest.raises(Boom), atomic_file(target) as tmp:
        tmp.write_bytes(b"half")
        raise Boom
    assert [p.name for p in tmp_path.iterdir()] == ["s.db"]
    assert target.read_bytes() == b"db"


@dataclasses.dataclass
class Point:
    x: float
    tag: tuple[str, ...]


@pytest.mark.parametrize(("value", "plain"), [
    (None, None), (True, True), (3, 3), (0.25, 0.25), ("s", "s"),
    (float("nan"), None), (float("-inf"), None),
    (np.float32(0.5), 0.5), (np.int64(3), 3), (np.bool_(True), True),
    (np.float64("nan"), None), (np.arange(3), [0, 1, 2]),
    (np.array([[0.5, np.inf]]), [[0.5, None]]),
    ((1, (2, 3)), [1, [2, 3]]),
    ({1: "a", "b": np.int32(2)}, {"1": "a", "b": 2}),
    (Path("a/b.json"), "a/b.json"), (PurePosixPath("/x"), "/x"),
    (Point(np.float64(1.5), ("u",)), {"x": 1.5, "tag": ["u"]}),
])
def test_jsonable_converts_each_supported_type(value, plain):
    assert jsonable(value) == plain
    json.dumps(jsonable(value), allow_nan=False)


def test_jsonable_explains_what_it_replaced_in_a_mapping():
    value = {"auc": np.float32("nan"), "acc": 0.5, "per": [float("inf")],
             "sub": {"f1": float("nan")}}
    assert jsonable(value, reasons={"auc": "one class"}) == {
        "auc": None, "auc_undefined": "one class", "acc": 0.5, "per": [None],
        "sub": {"f1": None, "f1_undefined": safe_write.GENERIC_REASON}}
    assert jsonable(value, explain=True)["auc_undefined"] == safe_write.GENERIC_REASON
    assert jsonable(value) == {"auc": None, "acc": 0.5, "per": [None], "sub": {"f1": None}}


@pytest.mark.parametrize("value", [object(), {1, 2}, {"deep": [b"bytes"]}])
def test_an_unsupported_type_raises_a_type_error_naming_it(value):
    with pytest.raises(TypeError, match="cannot write a value of type .*(object|set|bytes)"):
        jsonable(value)


def test_json_text_formats_as_asked_and_can_keep_values_as_measured():
    assert json_text({"b": (1,), "a": np.nan}, indent=1) == '{\n "b": [\n  1\n ],\n "a": null\n}\n'
    assert json_text({"b": 1, "a": [2]}, separators=(",", ":"), sort_keys=True, end="") \
        == '{"a":[2],"b":1}'
    assert json_text({"x": float("nan"), "p": Path("q")}, convert=False, default=str) \
        == '{"x": NaN, "p": "q"}\n'


def test_the_module_imports_nothing_from_the_package():
    source = Path(safe_write.__file__).read_text()
    assert "cancer_alpha" not in source.split('"""', 2)[2].replace("cancer_alpha.", "")
    assert "from ." not in source


def test_a_folder_target_is_refused_when_a_file_or_not_empty(tmp_path):
    messages = {"is_file": "{path} is a file", "not_empty": "{path!r} is not empty"}
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match=f"^{tmp_path / 'f'} is a file$"):
        safe_write.folder_target(tmp_path / "f", overwrite=True, error=ValueError, **messages)
    with pytest.raises(FileExistsError, match="is not empty"):
        safe_write.folder_target(tmp_path, overwrite=False, **messages)
    assert safe_write.folder_target(tmp_path, overwrite=True, **messages) == tmp_path
    assert safe_write.folder_target(tmp_path / "new", overwrite=False, **messages) \
        == tmp_path / "new"
