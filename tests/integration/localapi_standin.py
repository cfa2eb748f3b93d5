#!/usr/bin/env python3
"""A stand-in for tailscaled's LocalAPI, for tests: tailscaled cannot be
installed on the test machines. Serves GET /localapi/v0/status on a unix
socket with the document in DOC, read anew on every request so a test
changes the tailnet by rewriting the file (a peer goes offline, a new one
appears, the backend logs out). Like tailscaled it answers only requests
with "Host: local-tailscaled.sock" and no Origin header.

usage: localapi_standin.py SOCKET DOC
"""
import http.server
import os
import socketserver
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.headers.get("Host") != "local-tailscaled.sock" or self.headers.get("Origin"):
            self.reply(403, b"invalid localapi request\n", "text/plain")
        elif self.path != "/localapi/v0/status":
            self.reply(404, b"not found\n", "text/plain")
        else:
            try:
                with open(self.server.doc, "rb") as f:
                    body = f.read()
            except OSError as e:
                self.reply(500, str(e).encode() + b"\n", "text/plain")
                return
            self.reply(200, body, "application/json")

    def reply(self, code, body, ctype):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass

    # a unix socket has no client address to log or look up
    def address_string(self):
        return "unix"


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main():
    sock, doc = sys.argv[1], sys.argv[2]
    if os.path.exists(sock):
        os.unlink(sock)
    with Server(sock, Handler) as srv:
        srv.doc = doc
        srv.serve_forever()


if __name__ == "__main__":
    main()
