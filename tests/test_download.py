"""Downloads against a local HTTP server (with Range support and a connection that drops) and
file:// URLs: resuming, verifying, atomic unpacking. Never the internet."""

from __future__ import annotations

import hashlib
import io
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image

from fcn_ablation.config.schema import SourceConfig
from fcn_ablation.data.datamodule import SaliencyDataModule
from fcn_ablation.data.download import COMPLETE, download_dataset, fetch
from fcn_ablation.data.synthetic import make_sample
from fcn_ablation.errors import DataError


def msra_zip(n=10) -> bytes:
    """An archive laid out like MSRA10K_Imgs_GT.zip, with n pairs."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i in range(n):
            image, mask = make_sample(np.random.default_rng(i), 30, 40)
            for arr, ext in ((image, "jpg"), (mask, "png")):
                b = io.BytesIO()
                Image.fromarray(arr).save(b, format="JPEG" if ext == "jpg" else "PNG")
                z.writestr(f"MSRA10K_Imgs_GT/Imgs/{i}.{ext}", b.getvalue())
    return buf.getvalue()


class Server:
    """Serves `files` (name -> bytes); honours Range; can cut the first response short."""

    def __init__(self, files: dict[str, bytes], cut_first_at: int | None = None) -> None:
        self.files, self.cut = files, cut_first_at
        self.requests: list[tuple[str, str | None]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                name = self.path.lstrip("/")
                rng = self.headers.get("Range")
                outer.requests.append((name, rng))
                if name not in outer.files:
                    self.send_error(404)
                    return
                data = outer.files[name]
                start = int(rng.split("=")[1].split("-")[0]) if rng else 0
                self.send_response(206 if rng else 200)
                self.send_header("Content-Length", str(len(data) - start))
                if rng:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                body = data[start:]
                if outer.cut is not None:
                    body, outer.cut = body[: outer.cut], None  # the connection drops mid-transfer
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server_factory():
    servers = []

    def make(*args, **kw):
        servers.append(Server(*args, **kw))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


def test_an_interrupted_download_resumes_where_it_stopped(tmp_path, server_factory):
    data = bytes(range(256)) * 4000
    srv = server_factory({"a.zip": data}, cut_first_at=300_000)
    dest = tmp_path / "a.zip"
    with pytest.raises(
        DataError, match=r"download interrupted at 300000 of 1024000 bytes; kept in .*a\.zip\.part, run again to resume"
    ):
        fetch(f"{srv.url}/a.zip", dest, progress=False, timeout=30)
    assert not dest.exists() and (tmp_path / "a.zip.part").stat().st_size == 300_000
    fetch(f"{srv.url}/a.zip", dest, sha256=hashlib.sha256(data).hexdigest(), size=len(data), progress=False)
    assert dest.read_bytes() == data and not (tmp_path / "a.zip.part").exists()
    assert srv.requests == [("a.zip", None), ("a.zip", "bytes=300000-")]


def test_a_wrong_checksum_or_size_removes_the_file_and_says_so(tmp_path, server_factory):
    srv = server_factory({"a.zip": b"x" * 1000})
    with pytest.raises(DataError, match="SHA-256 mismatch"):
        fetch(f"{srv.url}/a.zip", tmp_path / "a.zip", sha256="0" * 64, progress=False)
    with pytest.raises(DataError, match=r"got 1000 bytes, expected 999 \(dataset.sources size\)"):
        fetch(f"{srv.url}/a.zip", tmp_path / "a.zip", size=999, progress=False)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DataError, match=r"missing.zip: download failed \(HTTP Error 404"):
        fetch(f"{srv.url}/missing.zip", tmp_path / "m.zip", progress=False)


def test_download_through_the_datamodule_from_a_local_server(compose_cfg, tmp_path, server_factory):
    archive = msra_zip()
    srv = server_factory({"MSRA10K_Imgs_GT.zip": archive})
    sha = hashlib.sha256(archive).hexdigest()
    cfg = compose_cfg(["dataset=msra10k", "dataset.root=null", "dataset.download=true", "dataset.num_workers=0",
                       f"dataset.sources=[{{url: '{srv.url}/MSRA10K_Imgs_GT.zip', sha256: {sha}}}]"])  # fmt: skip
    dm = SaliencyDataModule(cfg.dataset, str(tmp_path / "cache"), progress=False)
    dm.prepare_data()
    dm.setup()
    assert dm.root == tmp_path / "cache" / "datasets" / "msra10k"
    assert dm.summary()["data_layout"] == {"images": "MSRA10K_Imgs_GT/Imgs", "masks": "MSRA10K_Imgs_GT/Imgs"}
    assert dm.summary()["data_pairs_found"] == 10 and (dm.root / COMPLETE).is_file()
    assert sha in (dm.root / COMPLETE).read_text()
    # A second run downloads nothing.
    SaliencyDataModule(cfg.dataset, str(tmp_path / "cache"), progress=False).prepare_data()
    assert len(srv.requests) == 1


def test_nested_archives_from_file_urls_unpack_like_dut_omron(tmp_path):
    """DUT-OMRON ships two archives, the masks as a zip inside a zip (`.zip.zip`)."""
    images, masks = io.BytesIO(), io.BytesIO()
    with zipfile.ZipFile(images, "w") as zi, zipfile.ZipFile(masks, "w") as zm:
        for i in range(3):
            zi.writestr(f"DUT-OMRON-image/im{i}.jpg", b"j")
            zm.writestr(f"pixelwiseGT-new-PNG/im{i}.png", b"p")
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w") as z:
        z.writestr("DUT-OMRON-gt-pixelwise.zip", masks.getvalue())
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "DUT-OMRON-image.zip").write_bytes(images.getvalue())
    (tmp_path / "src" / "DUT-OMRON-gt-pixelwise.zip.zip").write_bytes(outer.getvalue())
    sources = [
        SourceConfig(url=(tmp_path / "src" / n).as_uri())
        for n in ("DUT-OMRON-image.zip", "DUT-OMRON-gt-pixelwise.zip.zip")
    ]
    root = download_dataset(tmp_path / "dut", sources, tmp_path / "downloads", progress=False)
    assert sorted(p.name for p in (root / "DUT-OMRON-image").iterdir()) == ["im0.jpg", "im1.jpg", "im2.jpg"]
    assert sorted(p.name for p in (root / "pixelwiseGT-new-PNG").iterdir()) == ["im0.png", "im1.png", "im2.png"]
    assert not list(root.rglob("*.zip"))


def test_a_damaged_archive_leaves_no_half_written_data_set(tmp_path):
    (tmp_path / "bad.zip").write_bytes(msra_zip(2)[:-200])
    with pytest.raises(DataError, match=r"bad.zip: (neither a zip nor a tar archive|damaged archive)"):
        download_dataset(
            tmp_path / "msra", [SourceConfig(url=(tmp_path / "bad.zip").as_uri())], tmp_path / "dl", progress=False
        )
    assert not (tmp_path / "msra").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("msra")] == []


def test_a_non_empty_root_without_a_finished_download_is_not_overwritten(tmp_path):
    (tmp_path / "msra").mkdir()
    (tmp_path / "msra" / "mine.txt").write_text("keep me")
    with pytest.raises(DataError, match="exists and is not empty"):
        download_dataset(
            tmp_path / "msra", [SourceConfig(url="http://127.0.0.1:9/x.zip")], tmp_path / "dl", progress=False
        )
    assert (tmp_path / "msra" / "mine.txt").read_text() == "keep me"
