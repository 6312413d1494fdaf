"""The data home and the registry of public data files, fetched once and checked against
their sha256.

Real data lives in a *data home*, never in the repository: ``$CANCER_ALPHA_DATA`` or a per-user
cache folder. Each registered file sits there at the same relative path as upstream's mirror
(``mogonet/ROSMAP/1_tr.csv``), so pointing the data home at a folder that already holds the files
works offline and read-only; a missing file is downloaded from a pinned commit and checked
against its sha256.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "CANCER_ALPHA_DATA"


@dataclass(frozen=True)
class RemoteFile:
    """One registered data file: where upstream keeps it and the sha256 it must have."""

    url: str
    sha256: str


def _raw_url(repo: str, commit: str, path: str) -> str:
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{path}"


_MOGONET = ("txWang/MOGONET", "32d9066b7fe289b3f7cdb496a5668834079c274c")


_MIXOMICS = ("mixOmicsTeam/mixOmics", "d732983ad52fdd7fb2496a7ca8ac1bec501a63ab")


_ROSMAP_SHA256 = {
    "1_featname.csv": "1df5c536e47eb0d532abbb8bea6a9361bba01a913e03cd03b8ef06fb7849a660",
    "1_te.csv": "d9d9daf05915556fd13008fb6ad7d88e0c5a8a57e5a985548640d4cd1563712b",
    "1_tr.csv": "37bfcc58da320bf6c37b22617ed821dcfa96ca4abd334adf4d42c8e3375d972b",
    "2_featname.csv": "7431418fb193e02a1c1431f9446ccc227c8818a4d40c1cb72a2b640a0d8d38b7",
    "2_te.csv": "546e9d7f640e54c4c1d6540ed2c1a3adb10497635e7d6b8d4099b4930271ac76",
    "2_tr.csv": "b1d1d20f8793e5f11248218f19493d9a7be366ee5bbbaff585058401976f8a21",
    "3_featname.csv": "2b0b3451af16597ae34342a6abc99e397482fef30a61821a8e8fe7cb69276bae",
    "3_te.csv": "c0d9efd6c35e8c5768b759238c95c64674d7e1e7f76ed07fca6f168d67e676f4",
    "3_tr.csv": "fd8708bc0c41f774209f9e6a49a74c5a9acd510dd62eadc299a18d49ccd9e862",
    "labels_te.csv": "20d728c6f51f79ff5fa7719b960daf22074a0e6e1f3028869042b02ca4e3f68d",
    "labels_tr.csv": "5859aa107dbf406937938ebefbec122d01fea5d41a9bd0292199f4406749e45d",
}


REGISTRY: dict[str, RemoteFile] = {
    **{
        f"mogonet/ROSMAP/{name}": RemoteFile(_raw_url(*_MOGONET, f"ROSMAP/{name}"), sha)
        for name, sha in _ROSMAP_SHA256.items()
    },
    "mixomics/breast.TCGA.rda": RemoteFile(
        _raw_url(*_MIXOMICS, "data/breast.TCGA.rda"),
        "0812db063ceee018470b59249a27289e8231909b9ec858c9b3e8fc9ead67af48",
    ),
}


def data_home() -> Path:
    """The folder holding downloaded data: ``$CANCER_ALPHA_DATA`` or a per-user cache."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser()
    import pooch

    return Path(pooch.os_cache("cancer-alpha"))


def sha256sum(path: str | os.PathLike[str]) -> str:
    """Hex sha256 digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(relpath: str, *, downloader: Callable | None = None) -> Path:
    """Local path of a registered file, downloaded into the data home and verified if missing.

    A present file is only read (the data home may be read-only); one whose sha256 differs
    from the registry is refused, never replaced. ``downloader`` is a pooch downloader
    (default: HTTPS with a 60 s timeout).
    """
    entry = REGISTRY.get(relpath)
    if entry is None:
        raise ValueError(f"relpath = {relpath!r} is invalid: expected one of {sorted(REGISTRY)}")
    path = data_home() / relpath
    if path.exists():
        actual = sha256sum(path)
        if actual != entry.sha256:
            raise ValueError(
                f"{path} does not have the expected content: sha256 {actual}, expected "
                f"{entry.sha256}. It is corrupt or another version of {relpath}: delete it so "
                f"that it is downloaded again from {entry.url}, or replace it with that file."
            )
        return path

    import pooch

    if downloader is None:
        downloader = pooch.HTTPDownloader(progressbar=False, timeout=60)
    try:
        # pooch streams into a temporary file beside the target and renames it only once the
        # sha256 matches, so an interrupted or corrupted download leaves nothing behind
        pooch.retrieve(entry.url, known_hash=f"sha256:{entry.sha256}", fname=path.name,
                       path=path.parent, downloader=downloader, progressbar=False)
    except ValueError as exc:  # pooch's message for a completed download with the wrong hash
        raise ValueError(
            f"the download of {relpath} from {entry.url} was refused: {exc}"
        ) from None
    except OSError as exc:  # no network, HTTP errors (requests' errors are OSErrors), read-only
        raise FileNotFoundError(
            f"{relpath} is not in the data home and could not be downloaded from {entry.url} "
            f"({type(exc).__name__}: {exc}). Without network access, download that file "
            f"elsewhere and place it at {path}, or set {ENV_VAR} to a folder that holds it at "
            f"{relpath}."
        ) from None
    return path
