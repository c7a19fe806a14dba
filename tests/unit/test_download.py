"""Downloading the model from a hub look-alike on 127.0.0.1: listing, choosing, resuming, verifying, refusing."""

from __future__ import annotations

import threading
from collections import namedtuple
from pathlib import Path

import pytest

from paperlens.core import download as dl
from paperlens.core.errors import (
    ChecksumMismatch,
    DownloadCancelled,
    DownloadError,
    HubUnreachable,
    NotEnoughSpace,
    RemoteNotFound,
)
from paperlens.core.models import OFFICIAL_REPO, scan_model_dir


def test_offline_switch_is_on_until_a_download_lifts_it():
    # GIVEN PaperLens imported (tests import it first): huggingface_hub sends nothing on its own
    from huggingface_hub import constants

    assert constants.HF_HUB_OFFLINE
    with dl.online():
        assert not constants.HF_HUB_OFFLINE
    assert constants.HF_HUB_OFFLINE


def test_quantizations_are_read_from_file_names():
    assert dl.quant_from_name("MiniCPM-V-4_6-Q4_K_M.gguf") == "Q4_K_M"
    assert dl.quant_from_name("MiniCPM-V-4.6-Q8_0.gguf") == "Q8_0"
    assert dl.quant_from_name("mmproj-model-f16.gguf") == "F16"
    assert dl.quant_from_name("model-IQ4_XS.gguf") == "IQ4_XS"
    assert dl.quant_from_name("model.gguf") == ""


def test_the_listing_offers_every_quantization_with_sizes(hub):
    offer = dl.fetch_offer(endpoint=hub.endpoint)
    assert sorted(offer.quantizations) == ["F16", "Q4_K_M", "Q8_0"]
    assert [p.name for p in offer.projectors] == ["mmproj-model-f16.gguf"]
    assert all(f.size > 0 and f.sha256 and len(f.sha256) == 64 for f in offer.texts + offer.projectors)
    assert offer.revision == "0123456789abcdef0123456789abcdef01234567"
    assert offer.choose().text.quantization == "Q4_K_M"  # the default
    choice = offer.choose("q8_0")
    assert choice.text.name == "MiniCPM-V-4.6-Q8_0.gguf"
    assert choice.total == choice.text.size + choice.projector.size
    with pytest.raises(RemoteNotFound, match="no Q2_K text model; it offers"):
        offer.choose("Q2_K")


def test_hf_endpoint_picks_the_mirror(hub, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint + "/")
    assert dl.hub_endpoint() == hub.endpoint
    assert dl.hub_endpoint("http://mirror.example") == "http://mirror.example"  # the setting wins
    assert dl.fetch_offer().endpoint == hub.endpoint


def test_full_download_then_the_folder_is_a_complete_model(hub, tmp_path):
    # GIVEN an empty model folder
    folder = tmp_path / "models"
    offer = dl.fetch_offer(endpoint=hub.endpoint)
    seen: list[dl.Progress] = []
    # WHEN the default choice is downloaded
    result = dl.download_model(offer, offer.choose(), folder, progress=seen.append)
    # THEN both files are in place, verified, the 4x projector derived, nothing partial left
    assert sorted(result.downloaded) == ["MiniCPM-V-4.6-Q4_K_M.gguf", "mmproj-model-f16.gguf"]
    found = scan_model_dir(folder)
    assert found.complete and set(found.projectors) == {"4x", "16x"}
    assert found.text.path.name == "MiniCPM-V-4.6-Q4_K_M.gguf"
    assert not (folder / dl.PARTIAL_DIR).exists()
    assert {p.phase for p in seen} >= {"download", "verify", "derive", "done"}
    last_download = [p for p in seen if p.phase == "download"][-1]
    assert last_download.done == last_download.total
    # a record of the hashes for `models verify`
    records = dl.read_records(folder)
    assert records["mmproj-model-f16.gguf"]["sha256"] == hub.repos[OFFICIAL_REPO].sha["mmproj-model-f16.gguf"]
    assert all(c.ok for c in dl.verify_folder(folder))
    # AND a second download fetches nothing again
    hub.requests.clear()
    again = dl.download_model(offer, offer.choose(), folder)
    assert again.downloaded == [] and len(again.kept) == 2
    assert not [r for r in hub.requests if r.method == "GET" and "/resolve/" in r.path]


def test_interrupted_download_resumes_with_a_range_request(hub, tmp_path):
    folder = tmp_path / "models"
    offer = dl.fetch_offer(endpoint=hub.endpoint)
    choice = offer.choose()
    # GIVEN the connection drops 100 kB into the first file
    hub.cut_after = 100_000
    with pytest.raises(DownloadError, match="download again to continue|connection"):
        dl.download_model(offer, choice, folder)
    part = dl.partial_path(folder, choice.text.name)
    assert part.exists() and 0 < part.stat().st_size < choice.text.size
    kept = part.stat().st_size
    # nothing half-written where the model scan looks
    assert not list(folder.glob("*.gguf"))
    # WHEN downloading again
    result = dl.download_model(offer, choice, folder)
    # THEN it continued from where it stopped
    assert hub.ranges(choice.text.name)[-1] == f"bytes={kept}-"
    assert result.resumed == {choice.text.name: kept}
    assert scan_model_dir(folder).complete
    assert all(c.ok for c in dl.verify_folder(folder))


def test_cancel_stops_and_keeps_the_partial_file(hub, tmp_path):
    folder = tmp_path / "models"
    offer = dl.fetch_offer(endpoint=hub.endpoint)
    cancel = threading.Event()

    def on_progress(p: dl.Progress) -> None:
        if p.phase == "download" and p.done > 0:
            cancel.set()

    hub.delay = 0.01
    with pytest.raises(DownloadCancelled, match="kept"):
        dl.download_model(offer, offer.choose(), folder, progress=on_progress, cancel=cancel)
    part = dl.partial_path(folder, offer.choose().text.name)
    assert part.exists() and part.stat().st_size > 0
    assert dl.partial_files(folder) == [part]


def test_a_corrupted_file_is_deleted_and_reported(hub, tmp_path):
    folder = tmp_path / "models"
    offer = dl.fetch_offer(endpoint=hub.endpoint)
    hub.corrupt.add("mmproj-model-f16.gguf")
    with pytest.raises(ChecksumMismatch, match="arrived damaged.*deleted"):
        dl.download_model(offer, offer.choose(), folder)
    assert not dl.partial_path(folder, "mmproj-model-f16.gguf").exists()
    assert not (folder / "mmproj-model-f16.gguf").exists()
    assert not scan_model_dir(folder).complete


def test_no_disk_space_is_refused_before_anything_is_fetched(hub, tmp_path, monkeypatch):
    folder = tmp_path / "models"
    offer = dl.fetch_offer(endpoint=hub.endpoint)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(dl.shutil, "disk_usage", lambda _p: usage(10**9, 10**9 - 1000, 1000))
    hub.requests.clear()
    with pytest.raises(NotEnoughSpace, match=r"needs \d+\.\d\d GB more .* only 0\.00 GB is free"):
        dl.download_model(offer, offer.choose(), folder)
    assert not [r for r in hub.requests if "/resolve/" in r.path]


def test_server_down_is_one_sentence(hub):
    endpoint = hub.endpoint
    hub.stop()
    with pytest.raises(HubUnreachable, match=f"Cannot reach {endpoint}"):
        dl.fetch_offer(endpoint=endpoint)


def test_missing_repository_and_file(hub):
    with pytest.raises(RemoteNotFound, match="repository someone/else was not found"):
        dl.fetch_offer("someone/else", endpoint=hub.endpoint)
    offer = dl.fetch_offer(endpoint=hub.endpoint)
    gone = dl.RemoteFile("gone-Q4_K_M.gguf", 10, "0" * 64, "text", "Q4_K_M")
    with pytest.raises(RemoteNotFound, match="file gone-Q4_K_M.gguf .* was not found"):
        dl.download_model(
            offer,
            dl.Choice(gone, offer.projectors[0]),
            Path(hub.repos[OFFICIAL_REPO].files["README.md"]).parent / "x",
        )


def test_list_repo_tree_works_against_the_fake_hub(hub):
    """The tree endpoint answers as the hub does (huggingface_hub's own parser reads it)."""
    from huggingface_hub import HfApi

    with dl.online():
        files = list(HfApi(endpoint=hub.endpoint).list_repo_tree(OFFICIAL_REPO))
    assert {f.path for f in files} >= {"mmproj-model-f16.gguf", "MiniCPM-V-4.6-Q4_K_M.gguf"}
    assert all(f.lfs and f.lfs.sha256 for f in files if f.path.endswith(".gguf"))
