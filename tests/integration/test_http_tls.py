"""TLS: HTTPS and WSS only, TLS 1.2+, HSTS and Secure cookie, plain HTTP
refused on the TLS port. The certificate is made by openssl per test."""
import json
import socket
import ssl
import subprocess

import pytest
import requests
import websocket

from zaulekd_fixture import ROLE_USERS


@pytest.fixture
def tls_daemon(make_daemon, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return make_daemon(tls=(cert, key))


def test_https_and_headers(tls_daemon):
    d = tls_daemon
    r = requests.get(d.url("/healthz"), verify=d.verify, timeout=5)
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")
    olga = ROLE_USERS["operator"]
    r = requests.post(d.url("/api/v1/auth/login"),
                      json={"username": olga, "password": d.passwords[olga]},
                      verify=d.verify, timeout=5)
    assert r.status_code == 200
    d.tokens.append(r.json()["token"])
    assert "Secure" in r.headers["Set-Cookie"]
    assert "listening on https://127.0.0.1:" in d.stderr()
    # What a current client negotiates is TLS 1.2 or newer.
    ctx = ssl.create_default_context(cafile=str(d.tls[0]))
    with socket.create_connection(("127.0.0.1", d.port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
            assert t.version() in ("TLSv1.2", "TLSv1.3")


def test_old_tls_and_plain_http_refused(tls_daemon):
    d = tls_daemon
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(d.tls[0]))
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    except ssl.SSLError:
        pass
    with socket.create_connection(("127.0.0.1", d.port), timeout=5) as s:
        with pytest.raises((ssl.SSLError, ConnectionResetError)):
            with ctx.wrap_socket(s, server_hostname="127.0.0.1"):
                pass
    # Plain HTTP to the TLS port gets no HTTP answer.
    with socket.create_connection(("127.0.0.1", d.port), timeout=5) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        try:
            while chunk := s.recv(4096):
                data += chunk
        except (ConnectionResetError, socket.timeout):
            pass
        assert b"HTTP/1.1 200" not in data
    # And the server is still fine.
    assert requests.get(d.url("/healthz"), verify=d.verify, timeout=5).status_code == 200


def test_wss(tls_daemon):
    d = tls_daemon
    token = d.login(ROLE_USERS["administrator"])["token"]
    ws = websocket.create_connection(f"wss://127.0.0.1:{d.port}/api/v1/ws", timeout=5,
                                     header=["Authorization: Bearer " + token],
                                     sslopt={"ca_certs": str(d.tls[0])})
    hello = json.loads(ws.recv())
    assert hello["type"] == "hello" and hello["role"] == "administrator"
    ws.close()
    code, _ = d.stop()
    assert code == 0
    for secret in [token, *d.passwords.values()]:
        assert secret not in d.stderr()
