"""Evidence packages (#20): the server's signing key at GET /api/v1/keys, a
package built through the evidence library (zaulek-evidence-pack, until the
export job exists), checked by zaulek-verify and by third-party code (Python's
zipfile and hashlib, PyNaCl), and a changed byte in any member failing it."""
import base64
import hashlib
import json
import os
import shutil
import stat
import struct
import subprocess
import zipfile

import pytest
import requests
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from zaulekd_fixture import BUILD_DIR, ROLE_USERS, Zaulekd

VERIFY = BUILD_DIR / "evidence" / "zaulek-verify"
PACK = BUILD_DIR / "evidence" / "zaulek-evidence-pack"
MEMBERS = ("clip.mp4", "manifest.json", "manifest.sig", "VERIFY.txt")


def run(*args):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A real two-second H.264 MP4 and two 'segments' (what the export read)."""
    d = tmp_path_factory.mktemp("clip")
    mp4 = d / "clip.mp4"
    r = run("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
            "testsrc=size=320x240:rate=25:duration=2", "-c:v", "libx264", "-pix_fmt", "yuv420p",
            "-movflags", "+faststart", mp4)
    assert r.returncode == 0, r.stderr
    segs = []
    for i in range(2):
        s = d / f"seg{i}.ts"
        s.write_bytes(os.urandom(1000 + i))
        segs.append(s)
    return mp4, segs


def pack(tmp_path, clip, key_file=None, out_name="evidence.zip"):
    mp4, segs = clip
    key_file = key_file or tmp_path / "signing.key"
    out = tmp_path / out_name
    args = [PACK, "--key-file", key_file, "--media", mp4, "--out", out, "--camera", "cam-1",
            "--from", "2026-12-07T10:00:00Z", "--to", "2026-12-07T10:02:00Z", "--by", "iwona",
            "--reason", "Sprawa RSD-17/2026: kradzież roweru, zaułek Piekarska"]
    for s in segs:
        args += ["--segment", s]
    r = run(*args)
    assert r.returncode == 0, r.stderr
    key = run(PACK, "--key-file", key_file, "--public-key")
    assert key.returncode == 0, key.stderr
    return out, key.stdout.strip()


def rezip(src, dst, change=None, drop=None, add=None):
    """Copies a ZIP member by member (valid CRCs), changing one byte of `change`."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if info.filename == drop:
                continue
            data = zin.read(info.filename)
            if info.filename == change:
                mid = len(data) // 2
                data = data[:mid] + bytes([data[mid] ^ 0x01]) + data[mid + 1:]
            zout.writestr(info, data)
        if add:
            zout.writestr(add, b"extra\n")


def flip_raw(src, dst, member):
    """Flips one byte of a member's stored data inside the ZIP file itself."""
    shutil.copy(src, dst)
    with zipfile.ZipFile(src) as z:
        info = z.getinfo(member)
    raw = bytearray(dst.read_bytes())
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len
    raw[start + info.compress_size // 2] ^= 0x01
    dst.write_bytes(bytes(raw))


def test_package_verifies_with_the_key_and_says_what_it_holds(tmp_path, clip):
    out, key = pack(tmp_path, clip)
    r = run(VERIFY, out, "--key", key)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith(f"OK: {out}")
    assert "camera:    cam-1" in r.stdout
    assert "requested: 2026-12-07T10:00:00.000000000Z .. 2026-12-07T10:02:00.000000000Z" in r.stdout
    assert "file:      clip.mp4" in r.stdout
    kid = hashlib.sha256(base64.b64decode(key)).hexdigest()[:16]
    assert f"key:       {kid} (Ed25519)" in r.stdout
    assert "NOTE" not in r.stdout
    # The key as a file (Base64 text, or the raw 32 bytes) works the same.
    (tmp_path / "key.txt").write_text(key + "\n")
    (tmp_path / "key.bin").write_bytes(base64.b64decode(key))
    for f in ("key.txt", "key.bin"):
        r = run(VERIFY, out, "--key", tmp_path / f)
        assert r.returncode == 0, r.stdout + r.stderr
    # Without --key: the manifest's own key, and a plain word on what that proves.
    r = run(VERIFY, out)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "proves the package is\n  unchanged since it was signed, not who signed it" in r.stdout
    # The same files in a folder verify too.
    folder = tmp_path / "unpacked"
    with zipfile.ZipFile(out) as z:
        z.extractall(folder)
    r = run(VERIFY, folder, "--key", key)
    assert r.returncode == 0, r.stdout + r.stderr


def test_third_party_tools_agree(tmp_path, clip):
    """zipfile, hashlib and PyNaCl (libsodium's Python binding) check what we wrote."""
    out, key = pack(tmp_path, clip)
    with zipfile.ZipFile(out) as z:
        assert z.testzip() is None
        assert sorted(z.namelist()) == sorted(MEMBERS)
        assert z.getinfo("clip.mp4").compress_type == zipfile.ZIP_STORED
        manifest_bytes = z.read("manifest.json")
        sig = z.read("manifest.sig")
        files = {n: z.read(n) for n in z.namelist()}
    manifest = json.loads(manifest_bytes)
    assert manifest["format"] == "zaulek-evidence/1"
    assert manifest["camera"]["id"] == "cam-1"
    assert manifest["reason"] == "Sprawa RSD-17/2026: kradzież roweru, zaułek Piekarska"
    assert manifest["exported_by"] == "iwona"
    assert [f["name"] for f in manifest["files"]] == ["clip.mp4", "VERIFY.txt"]
    for f in manifest["files"]:
        assert hashlib.sha256(files[f["name"]]).hexdigest() == f["sha256"]
        assert len(files[f["name"]]) == f["bytes"]
    mp4, segs = clip
    assert files["clip.mp4"] == mp4.read_bytes()
    assert [s["sha256"] for s in manifest["segments"]] == [
        hashlib.sha256(s.read_bytes()).hexdigest() for s in segs]
    assert len(sig) == 64
    raw_key = base64.b64decode(key)
    assert manifest["key"] == {"id": hashlib.sha256(raw_key).hexdigest()[:16],
                               "algorithm": "Ed25519", "public_key": key}
    VerifyKey(raw_key).verify(manifest_bytes, sig)  # raises if it does not hold
    with pytest.raises(BadSignatureError):
        VerifyKey(raw_key).verify(manifest_bytes.replace(b"iwona", b"iwonb"), sig)
    # Canonical bytes: sorted keys, two-space indent, one final newline.
    assert manifest_bytes == (json.dumps(manifest, indent=2, sort_keys=True,
                                         ensure_ascii=False) + "\n").encode()
    # ffprobe still reads the MP4 inside the package.
    (tmp_path / "x").mkdir()
    with zipfile.ZipFile(out) as z:
        z.extract("clip.mp4", tmp_path / "x")
    r = run("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
            tmp_path / "x" / "clip.mp4")
    assert r.returncode == 0 and abs(float(r.stdout) - 2.0) < 0.1, r.stdout + r.stderr


@pytest.mark.parametrize("member", MEMBERS)
def test_a_changed_byte_in_any_member_fails_naming_it(tmp_path, clip, member):
    out, key = pack(tmp_path, clip)
    # 1. In a re-written ZIP (the member's CRC fits its new bytes): hashes and signature catch it.
    bad = tmp_path / "changed.zip"
    rezip(out, bad, change=member)
    r = run(VERIFY, bad, "--key", key)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout.startswith(f"FAILED: {bad}")
    assert member in r.stdout, r.stdout
    if member in ("manifest.json", "manifest.sig"):
        assert "manifest.sig does not match manifest.json" in r.stdout, r.stdout
    else:
        assert f"{member}: SHA-256" in r.stdout, r.stdout
    # 2. One byte flipped in the ZIP file itself (the ZIP's own CRC no longer fits).
    raw = tmp_path / "flipped.zip"
    flip_raw(out, raw, member)
    r = run(VERIFY, raw, "--key", key)
    assert r.returncode == 1, r.stdout + r.stderr
    assert member in r.stdout, r.stdout
    # 3. In an unpacked folder.
    folder = tmp_path / "folder"
    with zipfile.ZipFile(out) as z:
        z.extractall(folder)
    data = bytearray((folder / member).read_bytes())
    data[len(data) // 2] ^= 0x01
    (folder / member).write_bytes(bytes(data))
    r = run(VERIFY, folder, "--key", key)
    assert r.returncode == 1, r.stdout + r.stderr
    assert member in r.stdout, r.stdout


def test_missing_extra_and_foreign_key_fail(tmp_path, clip):
    out, key = pack(tmp_path, clip)
    for name, kw, expect in [
        ("dropped.zip", {"drop": "clip.mp4"}, "clip.mp4: listed in the manifest but missing"),
        ("dropsig.zip", {"drop": "manifest.sig"}, "manifest.sig: missing"),
        ("extra.zip", {"add": "note.txt"}, "note.txt: not listed in the manifest"),
    ]:
        bad = tmp_path / name
        rezip(out, bad, **kw)
        r = run(VERIFY, bad, "--key", key)
        assert r.returncode == 1, r.stdout + r.stderr
        assert expect in r.stdout, r.stdout
    # A package signed by another key fails against the server's key, naming both.
    other, other_key = pack(tmp_path, clip, key_file=tmp_path / "other.key", out_name="o.zip")
    r = run(VERIFY, other, "--key", key)
    assert r.returncode == 1
    kid = hashlib.sha256(base64.b64decode(key)).hexdigest()[:16]
    assert f"not by the given key {kid}" in r.stdout, r.stdout
    # Not a ZIP at all.
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK\x03\x04 not really")
    r = run(VERIFY, junk)
    assert r.returncode == 1 and "not a readable ZIP" in r.stdout, r.stdout


def test_usage_errors_exit_2(tmp_path, clip):
    out, key = pack(tmp_path, clip)
    r = run(VERIFY, "--help")
    assert r.returncode == 0 and "usage: zaulek-verify ZIP|DIR [--key PUBKEY]" in r.stdout
    for args in ([], [out, "--key"], [out, "--key", "not-a-key"], [out, out],
                 [out, "--frobnicate"], [tmp_path / "nope.zip"]):
        r = run(VERIFY, *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert "usage: zaulek-verify" in r.stderr


def test_daemon_makes_its_key_once_and_serves_the_public_half(tmp_path, clip):
    d = Zaulekd(tmp_path / "d")
    for role, user in ROLE_USERS.items():
        d.add_user(user, role)
    d.start()
    try:
        key_file = d.dir / "storage" / "signing.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert key_file.stat().st_size == 32
        bodies = {}
        for role, user in ROLE_USERS.items():
            r = requests.get(d.url("/api/v1/keys"), headers=d.bearer(user), timeout=10)
            assert r.status_code == 200, r.text
            bodies[role] = r.json()
        assert requests.get(d.url("/api/v1/keys"), timeout=10).status_code == 401
        body = bodies["investigator"]
        assert bodies["operator"] == body == bodies["administrator"]
        (k,) = body["keys"]
        assert k["algorithm"] == "Ed25519"
        raw = base64.b64decode(k["public_key"])
        assert len(raw) == 32 and k["id"] == hashlib.sha256(raw).hexdigest()[:16]
        assert k["created"].endswith("Z")
        assert f"evidence signing key {k['id']}" in d.stderr()
    finally:
        d.stop()
    # The library signs with the daemon's key file; the API's key verifies it.
    out, packed_key = pack(tmp_path, clip, key_file=key_file)
    assert packed_key == k["public_key"]
    r = run(VERIFY, out, "--key", k["public_key"])
    assert r.returncode == 0, r.stdout + r.stderr
    # A restart keeps the key.
    d.start()
    try:
        r = requests.get(d.url("/api/v1/keys"), headers=d.bearer("iwona"), timeout=10)
        assert r.json() == body
    finally:
        d.stop()
    # A key others may read is refused, and the daemon says why.
    key_file.chmod(0o640)
    with pytest.raises(AssertionError, match="readable by group or others; chmod 600 it"):
        d.start()
    key_file.chmod(0o600)
    key_file.write_bytes(b"short")
    with pytest.raises(AssertionError, match=r"must hold exactly 32 bytes"):
        d.start()
