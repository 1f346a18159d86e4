"""An HTTPS server on 127.0.0.1 for the tests: files under /files/ and git
smart HTTP (`git http-backend` run as CGI) for the repositories under
/git/, with a certificate the test's own CA signed.

    python3 tls_server.py ROOT CERT KEY

ROOT holds files/ and git/. Prints the port on stdout once listening."""

import http.server
import os
import ssl
import subprocess
import sys

root, cert, key = sys.argv[1:4]
backend_env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL")}
backend_env.update(
    GIT_PROJECT_ROOT=os.path.join(root, "git"), GIT_HTTP_EXPORT_ALL="1", GATEWAY_INTERFACE="CGI/1.1"
)


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

    def handle_any(self):
        data = self.body()
        path, _, query = self.path.partition("?")
        if path.startswith("/files/"):
            name = os.path.normpath(path[len("/files/"):])
            full = os.path.join(root, "files", name)
            if name.startswith("..") or not os.path.isfile(full):
                return self.send(404, [], b"not found\n")
            with open(full, "rb") as f:
                return self.send(200, [("Content-Type", "application/octet-stream")], f.read())
        if not path.startswith("/git/"):
            return self.send(404, [], b"not found\n")
        env = dict(
            backend_env,
            REQUEST_METHOD=self.command,
            PATH_INFO=path[len("/git"):],
            QUERY_STRING=query,
            CONTENT_TYPE=self.headers.get("Content-Type", ""),
            CONTENT_LENGTH=str(len(data)),
            HTTP_CONTENT_ENCODING=self.headers.get("Content-Encoding", ""),
            GIT_PROTOCOL=self.headers.get("Git-Protocol", ""),
            REMOTE_ADDR="127.0.0.1",
        )
        proc = subprocess.run(["git", "http-backend"], input=data, env=env, capture_output=True)
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


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
