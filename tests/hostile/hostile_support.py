"""Helpers of the hostile-input review tests: an Entente node on loopback,
the CLI, and fake TAXII 2.1 peers written with http.server.

Self-contained: needs only the entente binary (ENTENTE_BIN) and `requests`.
Every data directory lives under a temporary directory removed at the end.
"""

import json
import os
import re
import shutil
import sys
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "interop"))
import interop_support  # noqa: E402  (one `entente serve` runner for every suite)

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("ENTENTE_BIN", ROOT / "target" / "debug" / "entente"))
TAXII = "application/taxii+json;version=2.1"


def env():
    e = dict(os.environ)
    e.pop("ENTENTE_DATA", None)
    e.setdefault("RUST_LOG", "warn")
    return e


def cli(data, *args, check=True, timeout=120, input=None):
    p = subprocess.run(
        [str(BINARY), "--data", str(data), *args],
        capture_output=True,
        text=True,
        env=env(),
        timeout=timeout,
        input=input,
    )
    if check and p.returncode != 0:
        raise AssertionError(f"entente {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def last_line(p):
    return p.stdout.strip().splitlines()[-1].strip()


def rss_peak_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class Server(interop_support.Server):
    """One `entente serve` process on 127.0.0.1:0."""

    @property
    def port(self):
        return int(self.base.rsplit(":", 1)[1])

    def alive(self):
        return self.process.poll() is None


class Node:
    """A data directory after `entente init` (no server until `start`)."""

    def __init__(self, root, name="node", config=None):
        self.dir = Path(root) / name
        out = cli(self.dir, "init")
        self.admin = last_line(out)
        if config:
            toml = (self.dir / "entente.toml").read_text()
            for key, value in config.items():
                toml = re.sub(rf"(?m)^{key} = .*$", f"{key} = {value}", toml)
            (self.dir / "entente.toml").write_text(toml)
        self.server = None

    def cli(self, *args, **kw):
        return cli(self.dir, *args, **kw)

    def start(self):
        self.server = Server(self.dir)
        return self

    def stop(self):
        if self.server:
            self.server.stop()

    @property
    def base(self):
        return self.server.base

    def objects_url(self, collection):
        return f"{self.base}/api1/collections/{collection}/objects/"

    def collection(self, title="c", *extra):
        return last_line(self.cli("collection", "create", "--title", title, *extra))

    def token(self, name, read=(), write=()):
        args = ["token", "create", "--name", name]
        for c in read:
            args += ["--read", c]
        for c in write:
            args += ["--write", c]
        return last_line(self.cli(*args))

    def disk_bytes(self):
        return sum(p.stat().st_size for p in self.dir.rglob("*") if p.is_file())


def headers(token, content=True):
    h = {"Authorization": f"Bearer {token}", "Accept": TAXII}
    if content:
        h["Content-Type"] = TAXII
    return h


def now_stix():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)


def indicator(value=None, created="2026-01-01T00:00:00.000Z", **extra):
    value = value or f"{uuid.uuid4().hex[:12]}.example"
    o = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": created,
        "modified": created,
        "name": f"hostile review {value}",
        "pattern": f"[domain-name:value = '{value}']",
        "pattern_type": "stix",
        "valid_from": created,
        "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"],
    }
    o.update(extra)
    return o


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakePeer:
    """A TAXII 2.1 server in a thread; `handler(method, path, query, headers,
    body)` returns (status, headers-dict, body-bytes) or None to drop the
    connection. Records every request it sees in `requests`."""

    def __init__(self, handler, host="127.0.0.1", tls=None):
        """`tls`: (certfile, keyfile) to serve HTTPS (see `make_tls`)."""
        fake = self
        self.stopped = False
        self.requests = []
        self.handler = handler

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path, _, query = self.path.partition("?")
                fake.requests.append(
                    {"method": self.command, "path": path, "query": query, "headers": dict(self.headers), "body": body}
                )
                answer = fake.handler(self.command, path, query, self.headers, body)
                if answer is None:
                    self.close_connection = True
                    return
                status, hdrs, payload = answer
                if isinstance(payload, str):
                    payload = payload.encode()
                self.send_response(status)
                hdrs = dict(hdrs)
                hdrs.setdefault("Content-Type", TAXII)
                for k, v in hdrs.items():
                    self.send_header(k, v)
                if isinstance(payload, (bytes, bytearray)):
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    try:
                        self.wfile.write(payload)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    return
                # An iterable of chunks: sent with chunked transfer coding
                # for as long as it yields (an endless body if it never ends).
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.close_connection = True
                try:
                    for chunk in payload:
                        if fake.stopped:
                            return
                        if isinstance(chunk, str):
                            chunk = chunk.encode()
                        if chunk:
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError, OSError):
                    pass

            do_GET = _serve
            do_POST = _serve

        self.httpd = ThreadingHTTPServer((host, 0), H)
        self.httpd.daemon_threads = True
        # Clients that hang up mid-answer are part of the game: stay quiet.
        self.httpd.handle_error = lambda request, address: None
        scheme = "http"
        if tls:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        self.port = self.httpd.server_address[1]
        self.url = f"{scheme}://{host}:{self.port}/api1/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.stopped = True
        self.httpd.shutdown()
        self.httpd.server_close()


def envelope(objects, more=False, next=None):
    e = {"more": more}
    if next is not None:
        e["next"] = next
    if objects:
        e["objects"] = objects
    return json.dumps(e)


class PeerSetup:
    """A local node with an organisation standing for a fake peer, a
    collection it may write, the peer added and a pull job from
    REMOTE into that collection."""

    REMOTE = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"

    def __init__(self, root, peer_url, name="hostile", token="peer-secret-token", keys=(), refuse_unsigned=False, pull=True, ca=None):
        self.node = Node(root, "local")
        self.node.cli("org", "create", "Peer Org")
        self.collection = self.node.collection("pulled", "--org", "Peer Org", "--default-tlp", "green")
        token_file = Path(root) / "peer.token"
        token_file.write_text(token + "\n")
        args = ["peer", "add", name, "--url", peer_url, "--token-file", str(token_file), "--org", "Peer Org"]
        for k in keys:
            args += ["--key", k]
        if refuse_unsigned:
            args.append("--refuse-unsigned")
        if ca:
            args += ["--ca", str(ca)]
        self.node.cli(*args)
        self.name = name
        if pull:
            self.node.cli("peer", "pull", name, "--remote-collection", self.REMOTE, "--into", self.collection)

    def sync(self, timeout):
        """Runs `peer sync NAME --once`; returns the CompletedProcess, or
        None when it was still running after `timeout` seconds (then killed)."""
        p = subprocess.Popen(
            [str(BINARY), "--data", str(self.node.dir), "peer", "sync", self.name, "--once"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env(),
        )
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            return None
        return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def make_tls(directory):
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it;
    returns (ca_pem_path, cert_path, key_path). Needs the openssl CLI."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    run = lambda *a: subprocess.run(["openssl", *a], cwd=d, check=True, capture_output=True)
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=hostile review CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                               "extendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf")
    return d / "ca.pem", d / "server.pem", d / "server.key"


def status_resource(success=0, failures=(), complete=True, id=None):
    """A TAXII status resource as a fake peer answers a POST."""
    failures = list(failures)
    return json.dumps({
        "id": id or str(uuid.uuid4()),
        "status": "complete" if complete else "pending",
        "total_count": success + len(failures),
        "success_count": success,
        "failure_count": len(failures),
        "pending_count": 0 if complete else 1,
        "failures": failures,
    })


def run_limited(args, timeout, memory_bytes=None, input=None):
    """Runs the binary with `args` under an address-space limit; returns
    the CompletedProcess, or None when it ran past `timeout` (then killed)."""
    import resource

    def limit():
        if memory_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))

    p = subprocess.Popen([str(BINARY), *map(str, args)], stdin=subprocess.PIPE if input else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(), preexec_fn=limit)
    try:
        out, err = p.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        return None
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


class TempDir:
    def __init__(self, prefix="entente-hostile-"):
        self.path = Path(tempfile.mkdtemp(prefix=prefix))

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)
