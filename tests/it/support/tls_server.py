"""An HTTPS server on 127.0.0.1 for the tests: files under /files/ and git
smart HTTP for the repositories under /git/, with a certificate the test's
own CA signed.

    python3 tls_server.py ROOT CERT KEY

ROOT holds files/ and git/. Prints the port on stdout once listening."""

import http.server
import os
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import git_http  # noqa: E402

root, cert, key = sys.argv[1:4]
handler = git_http.handler(
    os.path.join(root, "git"), os.environ, prefix="/git", files_root=os.path.join(root, "files")
)
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
server.daemon_threads = True
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
