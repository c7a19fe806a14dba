"""Getting MiniCPM-V 4.6 from the hub (or a mirror): list what is offered, download with resume, verify, place.

Why our own transfer loop over huggingface_hub's session instead of `hf_hub_download`: the partial file must live
outside the model folder's scan (in `<model folder>/.partial/`, which `scan_model_dir` never looks into), progress must
reach the window per chunk, and Cancel must stop between chunks. huggingface_hub still does everything else: the
listing (`model_info(files_metadata=True)`: names, sizes, LFS SHA-256), the URLs, the token (`HF_TOKEN`), the
endpoint (`HF_ENDPOINT` or the mirror setting) and the error types.

PaperLens keeps huggingface_hub offline (`paperlens/__init__.py` sets `HF_HUB_OFFLINE=1` before anything imports it);
`online()` lifts that only around an explicit download. Qt-free: the window runs these calls on its job pool and turns
the progress callback into signals.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paperlens.core.errors import (
    ChecksumMismatch,
    DownloadCancelled,
    DownloadError,
    HubUnreachable,
    ModelInvalid,
    NotEnoughSpace,
    RemoteNotFound,
)
from paperlens.core.models import OFFICIAL_REPO, ModelSet, inspect_gguf, scan_model_dir

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://huggingface.co"
DEFAULT_QUANT = "Q4_K_M"
PARTIAL_DIR = (
    ".partial"  # inside the model folder (same file system: the final rename is atomic), never scanned
)
RECORDS_FILE = (
    ".paperlens-downloads.json"  # name, size and SHA-256 of each file downloaded, for `models verify`
)
# The 4x projector PaperLens derives is this share of the official one (899,662,592 of 1,108,746,944 bytes).
DERIVED_4X_SHARE = 0.82
SPACE_MARGIN = 64 * 2**20

_QUANT = re.compile(r"(?i)[-_.](IQ\d_[A-Z0-9_]+?|Q\d(?:_[A-Z0-9]+?)*|BF16|F16|F32)\.gguf$")


def quant_from_name(name: str) -> str:
    """The quantization a hub file name announces (`MiniCPM-V-4_6-Q4_K_M.gguf` -> Q4_K_M), "" if none."""
    m = _QUANT.search(name)
    return m.group(1).upper() if m else ""


def hub_endpoint(setting: str | None = None) -> str:
    """The mirror chosen in the window, else `HF_ENDPOINT`, else huggingface.co."""
    return (setting or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


@contextlib.contextmanager
def online() -> Iterator[None]:
    """Lift huggingface_hub's offline switch for the duration of an explicit download, then put it back."""
    from huggingface_hub import constants

    before = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = False
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = before


# --- what the repository offers -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RemoteFile:
    name: str  # path in the repository
    size: int
    sha256: str | None  # the LFS object id; None for a file not stored with LFS
    kind: str  # "text" or "projector"
    quantization: str


@dataclass(frozen=True)
class Choice:
    """One text model plus the projector: what a download fetches."""

    text: RemoteFile
    projector: RemoteFile

    @property
    def files(self) -> tuple[RemoteFile, RemoteFile]:
        return (self.text, self.projector)

    @property
    def total(self) -> int:
        return self.text.size + self.projector.size

    @property
    def derived_size(self) -> int:
        """About what the 4x projector derived after the download takes."""
        return int(self.projector.size * DERIVED_4X_SHARE)


@dataclass(frozen=True)
class Offer:
    """The GGUF files found by listing a repository at one commit."""

    repo: str
    revision: str  # the commit the listing came from; downloads are pinned to it
    endpoint: str
    texts: tuple[RemoteFile, ...]  # smallest first
    projectors: tuple[RemoteFile, ...]

    @property
    def quantizations(self) -> list[str]:
        return [f.quantization for f in self.texts]

    def choose(self, quant: str | None = None) -> Choice:
        if not self.texts:
            raise RemoteNotFound(f"{self.repo} has no text model file (.gguf) to download.")
        if not self.projectors:
            raise RemoteNotFound(f"{self.repo} has no vision projector (mmproj .gguf) to download.")
        wanted = (quant or DEFAULT_QUANT).upper()
        matches = [f for f in self.texts if f.quantization == wanted]
        if not matches and quant:
            raise RemoteNotFound(
                f"{self.repo} has no {wanted} text model; it offers {', '.join(self.quantizations)}."
            )
        text = matches[0] if matches else self.texts[0]
        # The full-precision projector is the official one; prefer F16, then the largest file.
        projector = sorted(self.projectors, key=lambda f: (f.quantization != "F16", -f.size))[0]
        return Choice(text, projector)


def fetch_offer(
    repo: str = OFFICIAL_REPO,
    *,
    endpoint: str | None = None,
    revision: str = "main",
    token: str | None = None,
) -> Offer:
    """List the repository's GGUF files with sizes and SHA-256 (one request)."""
    from huggingface_hub import HfApi

    endpoint = hub_endpoint(endpoint)
    with online(), _hub_errors(endpoint, repo):
        info = HfApi(endpoint=endpoint, token=token).model_info(repo, revision=revision, files_metadata=True)
    texts: list[RemoteFile] = []
    projectors: list[RemoteFile] = []
    for s in info.siblings or []:
        name = s.rfilename
        if not name.lower().endswith(".gguf") or "/" in name:
            continue
        size = s.lfs.size if s.lfs else (s.size or 0)
        kind = "projector" if "mmproj" in name.lower() else "text"
        f = RemoteFile(name, int(size), s.lfs.sha256 if s.lfs else None, kind, quant_from_name(name))
        (projectors if kind == "projector" else texts).append(f)
    texts.sort(key=lambda f: f.size)
    return Offer(repo, info.sha or revision, endpoint, tuple(texts), tuple(projectors))


@contextlib.contextmanager
def _hub_errors(endpoint: str, repo: str, name: str = "") -> Iterator[None]:
    """huggingface_hub's and httpx's exceptions as our own, one sentence each."""
    import httpx2
    from huggingface_hub import errors as hf

    what = f"{name} in {repo}" if name else repo
    try:
        yield
    except hf.GatedRepoError as exc:
        raise RemoteNotFound(
            f"{repo} at {endpoint} needs you to accept its terms and a token.", hint="Set HF_TOKEN."
        ) from exc
    except hf.RevisionNotFoundError as exc:
        raise RemoteNotFound(f"That revision of {repo} does not exist at {endpoint}.") from exc
    except hf.RepositoryNotFoundError as exc:
        raise RemoteNotFound(
            f"The repository {repo} was not found at {endpoint}.",
            hint="Check the mirror address; a private repository needs HF_TOKEN.",
        ) from exc
    except hf.RemoteEntryNotFoundError as exc:
        raise RemoteNotFound(f"The file {what} was not found at {endpoint}.") from exc
    except hf.HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise DownloadError(f"{endpoint} answered HTTP {status} for {what}; try again later.") from exc
    except hf.OfflineModeIsEnabled as exc:  # only if someone bypassed online()
        raise HubUnreachable("Downloads are switched off (offline mode).") from exc
    except httpx2.TimeoutException as exc:
        raise HubUnreachable(f"{endpoint} did not answer in time; check the network and try again.") from exc
    except httpx2.TransportError as exc:
        raise HubUnreachable(
            f"Cannot reach {endpoint} ({type(exc).__name__}); check the network or the mirror address.",
        ) from exc


# --- disk space -----------------------------------------------------------------------------------------------------
def existing_parent(folder: Path) -> Path:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def partial_path(folder: Path, name: str) -> Path:
    return folder / PARTIAL_DIR / f"{name}.part"


def space_needed(choice: Choice, folder: Path) -> int:
    """Bytes still to write: what is not yet downloaded (partials count), plus the derived 4x projector."""
    need = 0
    for f in choice.files:
        if _already_placed(folder / f.name, f, hash_it=False):
            continue
        part = partial_path(folder, f.name)
        have = part.stat().st_size if part.exists() and part.stat().st_size <= f.size else 0
        need += f.size - have
    found = scan_model_dir(folder)
    if "4x" not in found.projectors:
        need += choice.derived_size
    return need


def check_space(choice: Choice, folder: Path) -> tuple[int, int]:
    """(needed, free) in bytes; refuses before anything is fetched when the disk is too small."""
    need = space_needed(choice, folder)
    free = shutil.disk_usage(existing_parent(folder)).free
    if need + SPACE_MARGIN > free:
        raise NotEnoughSpace(
            f"Not enough disk space in {folder}: the model needs {need / 1e9:.2f} GB more "
            f"(with the 4x projector PaperLens derives), and only {free / 1e9:.2f} GB is free.",
            hint="Free some space or choose another model folder.",
        )
    return need, free


# --- progress -------------------------------------------------------------------------------------------------------
@dataclass
class Progress:
    """Where a download stands, for a progress bar and a line of text."""

    phase: str  # "download", "verify", "derive" or "done"
    file: str
    done: int
    total: int
    index: int = 0  # file number, from 0
    count: int = 1
    speed: float = 0.0  # bytes per second (downloads only)
    resumed_from: int = 0

    @property
    def eta(self) -> float | None:
        if self.phase != "download" or self.speed <= 0:
            return None
        return max(0.0, (self.total - self.done) / self.speed)

    def describe(self) -> str:
        mb = f"{self.done / 1e6:,.0f} / {self.total / 1e6:,.0f} MB"
        if self.phase == "download":
            eta = self.eta
            left = f", {_duration(eta)} left" if eta is not None else ""
            return f"Downloading {self.file}: {mb} at {self.speed / 1e6:.1f} MB/s{left}"
        if self.phase == "verify":
            return f"Checking {self.file} (SHA-256): {mb}"
        if self.phase == "derive":
            return f"Making the 4x projector from {self.file}: {mb}"
        return f"Done: {self.file}"


def _duration(seconds: float) -> str:
    s = int(seconds + 0.5)
    return f"{s // 3600} h {s // 60 % 60:02d} min" if s >= 3600 else f"{s // 60} min {s % 60:02d} s"


ProgressFn = Callable[[Progress], None]


class _Meter:
    """Throttles progress reports (10 per second at most) and measures speed over the last few seconds."""

    def __init__(self, report: ProgressFn | None, progress: Progress) -> None:
        self.report = report
        self.p = progress
        self.t_last = 0.0
        self.samples: list[tuple[float, int]] = [(time.monotonic(), progress.done)]

    def update(self, done: int, force: bool = False) -> None:
        self.p.done = done
        now = time.monotonic()
        if not force and now - self.t_last < 0.1:
            return
        self.t_last = now
        self.samples.append((now, done))
        self.samples = [s for s in self.samples if now - s[0] <= 5.0] or self.samples[-1:]
        t0, d0 = self.samples[0]
        if now > t0:
            self.p.speed = (done - d0) / (now - t0)
        if self.report:
            self.report(self.p)


# --- records of what was downloaded ---------------------------------------------------------------------------------
def read_records(folder: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads((folder / RECORDS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_records(folder: Path, records: dict[str, dict[str, Any]]) -> None:
    tmp = folder / f".{RECORDS_FILE}.tmp"
    tmp.write_text(json.dumps(records, indent=2, sort_keys=True))
    os.replace(tmp, folder / RECORDS_FILE)


def _record(folder: Path, f: RemoteFile, offer: Offer) -> None:
    records = read_records(folder)
    records[f.name] = {
        "size": f.size,
        "sha256": f.sha256,
        "repo": offer.repo,
        "revision": offer.revision,
        "endpoint": offer.endpoint,
    }
    _write_records(folder, records)


# --- hashing and placing --------------------------------------------------------------------------------------------
def sha256_file(
    path: Path, cancel: threading.Event | None = None, on_bytes: Callable[[int], None] | None = None
) -> str:
    h = hashlib.sha256()
    done = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(4 * 2**20):
            if cancel is not None and cancel.is_set():
                raise DownloadCancelled("Stopped while checking the download.")
            h.update(chunk)
            done += len(chunk)
            if on_bytes:
                on_bytes(done)
    return h.hexdigest()


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # not possible on every platform (Windows)
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _already_placed(target: Path, f: RemoteFile, *, hash_it: bool) -> bool:
    """The file is in the model folder with the right size (and, when asked, the right SHA-256)."""
    if not target.is_file() or target.stat().st_size != f.size:
        return False
    if not hash_it or f.sha256 is None:
        return True
    return sha256_file(target) == f.sha256


# --- the download ---------------------------------------------------------------------------------------------------
@dataclass
class DownloadResult:
    models: ModelSet
    downloaded: list[str] = field(default_factory=list)  # file names fetched now
    kept: list[str] = field(default_factory=list)  # already in the folder, verified
    resumed: dict[str, int] = field(default_factory=dict)  # name -> bytes already there


def download_model(
    offer: Offer,
    choice: Choice,
    folder: str | os.PathLike,
    *,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    token: str | None = None,
    derive_4x: bool = True,
) -> DownloadResult:
    """Fetch the chosen files into `folder`, resuming partial ones, verify each, place it atomically, derive 4x.

    Raises our own errors only (`DownloadError` and its kinds, `ModelInvalid`). A cancel keeps the partial file.
    """
    folder = Path(folder).expanduser()
    check_space(choice, folder)
    try:
        (folder / PARTIAL_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"Cannot create the model folder {folder} ({exc.strerror}).") from exc
    result = DownloadResult(models=ModelSet(folder=folder))
    count = len(choice.files)
    for index, f in enumerate(choice.files):
        target = folder / f.name
        if target.exists():
            meter = _Meter(progress, Progress("verify", f.name, 0, f.size, index, count))
            if target.stat().st_size == f.size and (
                f.sha256 is None or sha256_file(target, cancel, meter.update) == f.sha256
            ):
                result.kept.append(f.name)
                _record(folder, f, offer)
                continue
        part = partial_path(folder, f.name)
        have = _fetch(offer, f, part, index, count, progress, cancel, token)
        if have:
            result.resumed[f.name] = have
        _verify_and_place(offer, f, part, target, index, count, progress, cancel)
        result.downloaded.append(f.name)
    with contextlib.suppress(OSError):
        (folder / PARTIAL_DIR).rmdir()  # only when empty
    found = scan_model_dir(folder)
    if derive_4x and "16x" in found.projectors and "4x" not in found.projectors:
        from paperlens.core.models import derive_4x_projector

        proj = found.projectors["16x"]
        meter = _Meter(progress, Progress("derive", proj.path.name, 0, choice.derived_size, count, count + 1))
        derive_4x_projector(proj, progress=lambda done, total: meter.update(done), cancel=cancel)
        found = scan_model_dir(folder)
    if progress:
        progress(Progress("done", choice.text.name, 1, 1, count, count))
    result.models = found
    return result


def _fetch(
    offer: Offer,
    f: RemoteFile,
    part: Path,
    index: int,
    count: int,
    progress: ProgressFn | None,
    cancel: threading.Event | None,
    token: str | None,
) -> int:
    """Download `f` into `part`, continuing from its current length with a Range request. Returns bytes resumed."""
    import httpx2
    from huggingface_hub import constants, hf_hub_url
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    marker = part.with_name(part.name + ".json")
    expected = {"sha256": f.sha256, "size": f.size, "repo": offer.repo}
    if part.exists():
        try:
            same = json.loads(marker.read_text()) == expected
        except (OSError, ValueError):
            same = False
        if not same or part.stat().st_size > f.size:
            part.unlink()  # a partial of another version of the file: it cannot be continued
    marker.write_text(json.dumps(expected))
    have = part.stat().st_size if part.exists() else 0
    resumed = have
    if have == f.size:
        return resumed
    url = hf_hub_url(offer.repo, f.name, revision=offer.revision, endpoint=offer.endpoint)
    headers = build_hf_headers(token=token)
    headers["Accept-Encoding"] = "identity"
    if have:
        headers["Range"] = f"bytes={have}-"
    meter = _Meter(progress, Progress("download", f.name, have, f.size, index, count, resumed_from=have))
    with (
        online(),
        _hub_errors(offer.endpoint, offer.repo, f.name),
        get_session().stream(
            "GET", url, headers=headers, timeout=constants.HF_HUB_DOWNLOAD_TIMEOUT
        ) as response,
    ):
        if response.status_code == 416:  # nothing left to send: the partial is already whole (or wrong)
            return resumed
        if response.status_code >= 400:
            response.read()
        hf_raise_for_status(response)
        if have and response.status_code != 206:
            log.warning("%s ignored the Range request; starting %s over", offer.endpoint, f.name)
            have = resumed = 0
        with open(part, "ab" if have else "wb") as out:
            try:
                for chunk in response.iter_bytes():  # as it arrives: a break keeps every byte
                    if cancel is not None and cancel.is_set():
                        raise DownloadCancelled(
                            f"Download stopped; {have / 1e6:,.0f} MB of {f.name} kept, "
                            "the next download continues from there."
                        )
                    out.write(chunk)
                    have += len(chunk)
                    meter.update(have)
            except httpx2.TransportError as exc:  # the connection went away mid-file: keep what arrived
                log.info("download of %s broke off after %d bytes: %r", f.name, have, exc)
            finally:
                out.flush()
                os.fsync(out.fileno())
    meter.update(have, force=True)
    if have != f.size:
        raise DownloadError(
            f"The connection ended after {have / 1e6:,.0f} of {f.size / 1e6:,.0f} MB of {f.name}; "
            "download again to continue from there."
        )
    return resumed


def _verify_and_place(
    offer: Offer,
    f: RemoteFile,
    part: Path,
    target: Path,
    index: int,
    count: int,
    progress: ProgressFn | None,
    cancel: threading.Event | None,
) -> None:
    marker = part.with_name(part.name + ".json")
    if f.sha256 is not None:
        meter = _Meter(progress, Progress("verify", f.name, 0, f.size, index, count))
        got = sha256_file(part, cancel, meter.update)
        if got != f.sha256:
            part.unlink(missing_ok=True)
            marker.unlink(missing_ok=True)
            raise ChecksumMismatch(
                f"{f.name} arrived damaged (its SHA-256 is {got[:12]}…, the hub says {f.sha256[:12]}…); "
                "it was deleted.",
                hint="Download again.",
            )
    info = inspect_gguf(part)
    if info.kind != f.kind or not info.usable:
        part.unlink(missing_ok=True)
        marker.unlink(missing_ok=True)
        what = info.problem or f"it is a {info.kind} file, not the {f.kind} PaperLens expected"
        raise ModelInvalid(f"{f.name} from {offer.repo} cannot be used: {what}. It was deleted.")
    os.chmod(part, 0o644)
    os.replace(part, target)
    _fsync_dir(target.parent)
    marker.unlink(missing_ok=True)
    _record(target.parent, f, offer)


# --- checking what is on disk ---------------------------------------------------------------------------------------
@dataclass
class FileCheck:
    name: str
    ok: bool
    message: str


def verify_folder(
    folder: str | os.PathLike, cancel: threading.Event | None = None, progress: ProgressFn | None = None
) -> list[FileCheck]:
    """Re-check every model file: its metadata, and its SHA-256 where the download recorded the expected one."""
    folder = Path(folder).expanduser()
    records = read_records(folder)
    found = scan_model_dir(folder)
    checks = []
    for i, mf in enumerate(found.files):
        rec = records.get(mf.path.name) or {}
        if mf.problem:
            checks.append(FileCheck(mf.path.name, False, mf.problem))
            continue
        expected = rec.get("sha256")
        if not expected:
            checks.append(FileCheck(mf.path.name, True, "metadata OK (no recorded checksum to compare)"))
            continue
        meter = _Meter(progress, Progress("verify", mf.path.name, 0, mf.size, i, len(found.files)))
        got = sha256_file(mf.path, cancel, meter.update)
        if got == expected:
            checks.append(FileCheck(mf.path.name, True, "metadata and SHA-256 OK"))
        else:
            checks.append(
                FileCheck(
                    mf.path.name, False, "SHA-256 differs from the download's: the file changed or is damaged"
                )
            )
    return checks


def partial_files(folder: str | os.PathLike) -> list[Path]:
    """Unfinished downloads kept for resuming."""
    d = Path(folder).expanduser() / PARTIAL_DIR
    return sorted(d.glob("*.part")) if d.is_dir() else []


def folder_report(folder: Path, found: ModelSet | None = None) -> list[str]:
    """What is in the model folder, a line each: every file with its size, quantization and mode, which are in use
    (*), which can be removed and why, unfinished downloads, the total. `paperlens models` prints it; the window's
    Model > Model Files… shows it."""
    from paperlens.core.models import removable_files

    found = found if found is not None else scan_model_dir(folder)
    removable = removable_files(found)
    in_use = {id(f) for f in (found.text, *found.projectors.values(), *found.compact.values()) if f}
    lines = [f"Model folder: {folder}"]
    if not found.files:
        lines.append("  (no .gguf files)")
    for f in found.files:
        lines.append(f" {'*' if id(f) in in_use else ' '} {f.describe()}")
        if f.path.name in removable:
            lines.append(f"     can be removed: {removable[f.path.name]}")
    for p in partial_files(folder):
        lines.append(
            f"   {p.name}: unfinished download, {p.stat().st_size / 1e6:,.0f} MB (`paperlens models download`"
        )
        lines.append("     continues it; can be removed to start over)")
    total = sum(f.size for f in found.files)
    lines.append(f"  {len(found.files)} files, {total / 1e9:.2f} GB; * = in use")
    return lines
