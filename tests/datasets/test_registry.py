"""Real-data fetchers: checksums, offline use of a populated data home, download errors, loaders."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pooch
import pytest
import requests

from cancer_alpha import datasets
from cancer_alpha.datasets import REGISTRY, RemoteFile, fetch, sha256sum

# CI keeps the mirrored files beside the checkout: <repo>/../shared/data
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(),
    reason=f"mirrored data not found at {SHARED} (expected beside the checkout at ../shared/data)",
)
ROSMAP_LABELS = "mogonet/ROSMAP/labels_tr.csv"


@pytest.fixture
def no_download(monkeypatch):
    """Any attempt to download fails the test loudly (AssertionError is not caught by fetch)."""

    def refuse(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(pooch, "retrieve", refuse)
    monkeypatch.setattr(pooch.HTTPDownloader, "__call__", refuse)


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """An empty, writable data home."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv(datasets.ENV_VAR, str(path))
    return path


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file())


def test_data_home_follows_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.ENV_VAR, str(tmp_path))
    assert datasets.data_home() == tmp_path
    monkeypatch.delenv(datasets.ENV_VAR)
    assert datasets.data_home() == Path(pooch.os_cache("cancer-alpha"))


def test_registry_pins_commits_and_sha256():
    url = re.compile(r"https://raw\.githubusercontent\.com/[\w.-]+/[\w.-]+/[0-9a-f]{40}/\S+$")
    for relpath, entry in REGISTRY.items():
        assert url.match(entry.url), entry.url
        assert entry.url.endswith(Path(relpath).name)
        assert re.fullmatch(r"[0-9a-f]{64}", entry.sha256), relpath


@needs_shared
def test_registry_matches_the_mirror_readme():
    readme = (SHARED / "README.md").read_text()
    listed = dict((rel, sha) for sha, rel in re.findall(r"^([0-9a-f]{64})  (\S+)$", readme, re.M))
    assert listed == {rel: e.sha256 for rel, e in REGISTRY.items()}


@needs_shared
def test_populated_data_home_is_used_offline(monkeypatch, no_download):
    monkeypatch.setenv(datasets.ENV_VAR, str(SHARED))
    for relpath in REGISTRY:
        assert fetch(relpath) == SHARED / relpath


def test_unknown_file_is_refused(home):
    with pytest.raises(ValueError, match=r"relpath = 'mogonet/ROSMAP/9_tr\.csv' is invalid"):
        fetch("mogonet/ROSMAP/9_tr.csv")


@needs_shared
def test_copy_with_one_flipped_byte_is_refused_and_kept(home, no_download):
    target = home / ROSMAP_LABELS
    target.parent.mkdir(parents=True)
    data = bytearray((SHARED / ROSMAP_LABELS).read_bytes())
    data[100] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(ValueError) as err:
        fetch(ROSMAP_LABELS)
    msg = str(err.value)
    assert str(target) in msg and "delete it" in msg
    assert REGISTRY[ROSMAP_LABELS].sha256 in msg and sha256sum(target) in msg
    assert target.read_bytes() == bytes(data)  # never silently replaced


def test_missing_file_without_network_gives_one_clear_error(home, monkeypatch):
    def offline(self, url, output_file, pooch_):
        raise requests.ConnectionError(f"Failed to resolve host of {url}")

    monkeypatch.setattr(pooch.HTTPDownloader, "__call__", offline)
    with pytest.raises(FileNotFoundError) as err:
        fetch(ROSMAP_LABELS)
    msg = str(err.value)
    assert ROSMAP_LABELS in msg and REGISTRY[ROSMAP_LABELS].url in msg
    assert f"place it at {home / ROSMAP_LABELS}" in msg
    assert err.value.__suppress_context__  # one message, not a chained network traceback
    assert files_under(home) == []  # nothing half-written


def test_unreachable_url_gives_the_same_clear_error(home, monkeypatch):
    # port 9 (discard) on the loopback interface refuses connections at once, no network needed
    url = "http://127.0.0.1:9/labels_tr.csv"
    monkeypatch.setitem(REGISTRY, ROSMAP_LABELS, RemoteFile(url, REGISTRY[ROSMAP_LABELS].sha256))
    with pytest.raises(FileNotFoundError, match=re.escape(url)):
        fetch(ROSMAP_LABELS)
    assert files_under(home) == []


def test_download_is_checked_and_written_atomically(home, monkeypatch):
    good = b"0,1\n1,0\n"
    relpath = "demo/table.csv"
    sha = hashlib.sha256(good).hexdigest()
    monkeypatch.setitem(REGISTRY, relpath, RemoteFile("https://example.org/table.csv", sha))
    served = {"bytes": b"0,1\n1,1\n"}  # a corrupted transfer first

    def serve(url, output_file, pooch_):
        Path(output_file).write_bytes(served["bytes"])

    with pytest.raises(ValueError, match="refused"):
        fetch(relpath, downloader=serve)
    assert files_under(home) == []  # the corrupted download left no file, not even a temporary

    served["bytes"] = good
    path = fetch(relpath, downloader=serve)
    assert path == home / relpath and path.read_bytes() == good
    assert files_under(home) == [path]


@needs_shared
def test_load_rosmap_gives_the_readme_shapes(monkeypatch, no_download):
    monkeypatch.setenv(datasets.ENV_VAR, str(SHARED))
    train, test = datasets.load_rosmap()
    for data, n in ((train, 245), (test, 106)):
        assert data.n_samples == n
        assert [(s.name, s.kind, s.n_features) for s in data.specs] == [
            ("mrna", "generic", 200), ("methylation", "generic", 200), ("mirna", "generic", 200)]
        assert data.mask.all() and data.class_names == ["NC", "AD"]
        assert set(np.unique(data.y)) == {0, 1}
        assert all(np.isfinite(v).all() and v.min() >= 0 and v.max() <= 1
                   for v in data.x.values())  # min-max scaled, per the README
    first_cpg = (SHARED / "mogonet/ROSMAP/2_featname.csv").read_text().split()[0]
    assert train.feature_names["methylation"][0] == first_cpg
    assert not set(train.sample_ids) & set(test.sample_ids)


@needs_shared
def test_load_breast_tcga_test_set_lacks_protein(monkeypatch, no_download):
    monkeypatch.setenv(datasets.ENV_VAR, str(SHARED))
    train, test = datasets.load_breast_tcga()
    assert [(s.name, s.n_features) for s in train.specs] == [
        ("mrna", 200), ("mirna", 184), ("protein", 142)]
    assert test.specs == train.specs and test.feature_names == train.feature_names
    assert (train.n_samples, test.n_samples) == (150, 70)
    assert train.class_names == test.class_names == ["Basal", "Her2", "LumA"]
    # class sizes of mixOmics' documented breast.TCGA split
    assert np.bincount(train.y).tolist() == [45, 30, 75]
    assert np.bincount(test.y).tolist() == [21, 14, 35]
    assert train.mask.all()
    assert test.mask[:, :2].all() and not test.mask[:, 2].any()
    assert np.isnan(test.x["protein"]).all() and np.isfinite(test.x["mrna"]).all()
    assert len(set(train.sample_ids) | set(test.sample_ids)) == 220


@needs_shared
def test_loader_refuses_a_file_of_the_wrong_shape(home, monkeypatch, no_download):
    folder = home / "mogonet" / "ROSMAP"
    folder.mkdir(parents=True)
    for src in (SHARED / "mogonet" / "ROSMAP").glob("*.csv"):
        (folder / src.name).symlink_to(src)
    short = folder / "1_te.csv"
    short.unlink()
    rows = (SHARED / "mogonet/ROSMAP/1_te.csv").read_text().splitlines(keepends=True)
    short.write_text("".join(rows[:10]))
    rel = "mogonet/ROSMAP/1_te.csv"
    monkeypatch.setitem(REGISTRY, rel, RemoteFile(REGISTRY[rel].url, sha256sum(short)))
    with pytest.raises(ValueError, match=r"1_te\.csv: shape \(10, 200\), expected \(106, 200\)"):
        datasets.load_rosmap()
