"""Local servers the scenarios use: a PEP 503 index with the public index's
cache headers, git daemon, and git http-backend behind a Python HTTP server."""

import http.server
import os
import re
import socket
import subprocess
import sys
import threading
import time

# The smart-HTTP handler the tests use too.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "it", "support"))
import git_http  # noqa: E402

from .proc import CMD_TIMEOUT, BenchError  # noqa: E402


# The cache headers the public index sends: pages may be reused for 10 minutes.
PAGE_CACHE = "max-age=600, public"
FILE_CACHE = "max-age=365000000, immutable, public"


class LocalHttpServer:
    """A threaded HTTP server on 127.0.0.1 with `handler`, serving while
    used as a context manager."""

    def __init__(self, handler):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


class IndexServer(LocalHttpServer):
    """PEP 503 simple index on 127.0.0.1: /simple/<name>/ and /files/<wheel>."""

    def __init__(self, wheel_dir, wheels):
        projects = {}
        for name, (filename, sha) in wheels.items():
            projects[re.sub(r"[-_.]+", "-", name).lower()] = (filename, sha)
        files = {fn: (wheel_dir / fn).read_bytes() for fn, _ in projects.values()}
        root_page = "<!DOCTYPE html><html><body>\n" + "".join(
            f'<a href="/simple/{p}/">{p}</a>\n' for p in sorted(projects)
        ) + "</body></html>\n"

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 30  # idle keep-alive connections end by themselves

            def log_message(self, *a):
                pass

            def send(self, code, body, ctype, cache=None):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                if cache:
                    self.send_header("Cache-Control", cache)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_GET(self):
                path = self.path.split("?", 1)[0].split("#", 1)[0]
                parts = [p for p in path.split("/") if p]
                if parts == ["simple"]:
                    return self.send(200, root_page.encode(), "text/html", PAGE_CACHE)
                if len(parts) == 2 and parts[0] == "simple":
                    key = re.sub(r"[-_.]+", "-", parts[1]).lower()
                    if key in projects:
                        fn, sha = projects[key]
                        page = (
                            f"<!DOCTYPE html><html><body>\n"
                            f'<a href="/files/{fn}#sha256={sha}">{fn}</a>\n</body></html>\n'
                        )
                        return self.send(200, page.encode(), "text/html", PAGE_CACHE)
                if len(parts) == 2 and parts[0] == "files" and parts[1] in files:
                    return self.send(200, files[parts[1]], "application/octet-stream", FILE_CACHE)
                return self.send(404, b"not found\n", "text/plain")

            do_HEAD = do_GET

        super().__init__(Handler)
        self.url = f"http://127.0.0.1:{self.port}/simple"


class GitDaemon:
    """`git daemon` on 127.0.0.1 serving base (for --transport git)."""

    def __init__(self, base, env):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.cmd = [
            "git", "daemon", "--reuseaddr", "--export-all", "--listen=127.0.0.1",
            f"--port={self.port}", f"--base-path={base}", "--max-connections=64", str(base),
        ]
        self.env = env
        self.url_base = f"git://127.0.0.1:{self.port}"
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        self.__exit__()
        raise BenchError("git daemon did not start")

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


class GitHttp(LocalHttpServer):
    """Smart HTTP on 127.0.0.1: `git http-backend` run as CGI for each request
    (what a web server does), serving the repositories under base."""

    def __init__(self, base, env):
        Handler = git_http.handler(base, env, timeout=CMD_TIMEOUT)
        super().__init__(Handler)
        self.url_base = f"http://127.0.0.1:{self.port}"
