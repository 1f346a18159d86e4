"""Git smart HTTP for test and benchmark servers: a request handler that
runs `git http-backend` as CGI for each request, as a web server does.
Used by tls_server.py (the HTTPS test) and bench/run.py."""

import http.server
import os
import subprocess


def handler(git_root, env, prefix="", files_root=None, timeout=None):
    """A BaseHTTPRequestHandler class serving the repositories under
    `git_root` at `prefix/NAME`, and, when `files_root` is given, its files
    at `/files/NAME`. `env` gives PATH, HOME and the locale to the backend."""
    backend_env = {k: v for k, v in env.items() if k in ("PATH", "HOME", "LC_ALL", "LANG", "TMPDIR")}
    backend_env.update(GIT_PROJECT_ROOT=str(git_root), GIT_HTTP_EXPORT_ALL="1", GATEWAY_INTERFACE="CGI/1.1")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 60

        def log_message(self, *args):
            pass

        def body(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                out = bytearray()
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return bytes(out)
                    out += self.rfile.read(size)
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def send(self, status, headers, payload):
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def file(self, name):
            name = os.path.normpath(name)
            full = os.path.join(files_root, name)
            if name.startswith("..") or not os.path.isfile(full):
                return self.send(404, [], b"not found\n")
            with open(full, "rb") as f:
                return self.send(200, [("Content-Type", "application/octet-stream")], f.read())

        def handle_any(self):
            data = self.body()
            path, _, query = self.path.partition("?")
            if files_root is not None and path.startswith("/files/"):
                return self.file(path[len("/files/"):])
            if not path.startswith(prefix + "/"):
                return self.send(404, [], b"not found\n")
            cgi_env = dict(
                backend_env,
                REQUEST_METHOD=self.command,
                PATH_INFO=path[len(prefix):],
                QUERY_STRING=query,
                CONTENT_TYPE=self.headers.get("Content-Type", ""),
                CONTENT_LENGTH=str(len(data)),
                HTTP_CONTENT_ENCODING=self.headers.get("Content-Encoding", ""),
                GIT_PROTOCOL=self.headers.get("Git-Protocol", ""),
                REMOTE_ADDR="127.0.0.1",
            )
            proc = subprocess.run(
                ["git", "http-backend"], input=data, env=cgi_env, capture_output=True, timeout=timeout
            )
            head, sep, payload = proc.stdout.partition(b"\r\n\r\n")
            if not sep:
                head, sep, payload = proc.stdout.partition(b"\n\n")
            status, headers = 200, []
            for line in head.decode(errors="replace").splitlines():
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.split()[0])
                elif name and name.lower() not in ("content-length", "transfer-encoding"):
                    headers.append((name, value.strip()))
            self.send(status, headers, payload)

        do_GET = do_POST = handle_any

    return Handler
