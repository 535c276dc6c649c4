#!/usr/bin/env python3
"""Send one GET request through an egresskit mTLS proxy; print the status and the body.

Standard library only (Python 3.8+):

    PROXY_URL=https://localhost:8443 PROXY_CA=certs/ca.crt \
    CLIENT_CERT=certs/client.crt CLIENT_KEY=certs/client.key \
    TARGET_URL=https://example.com/ python3 client.py

Environment:
    PROXY_URL    https://HOST:PORT of the proxy (required)
    PROXY_CA     CA that signed the proxy's certificate; when set, the only CA trusted for
                 the proxy hop (otherwise the system roots are)
    CLIENT_CERT  client certificate (PEM) and CLIENT_KEY its key, or CLIENT_PEM: one file
                 with certificate, chain and key (egresskit's client.pem)
    TARGET_URL   http:// or https:// URL to fetch (required)
    TARGET_CA    extra CA for the destination, ADDED to the system roots (optional)

Exit status: 0 on a 2xx/3xx answer, 2 on a 4xx/5xx answer, 1 when the request failed.

Why not urllib: urllib.request speaks to an https:// proxy in plain text and has no place
for a client certificate for the proxy hop. So this opens the TLS connection to the proxy
itself (ssl.SSLContext with the client certificate), then:
  - http:// targets: one absolute-URI request over that connection (http.client);
  - https:// targets: CONNECT, then a second TLS session *inside* the first. Python's
    wrap_socket() cannot layer TLS on an SSLSocket (it would talk to the raw file
    descriptor, under the outer TLS), so the inner session is an ssl.SSLObject driven
    through memory BIOs: the same technique urllib3 uses for TLS-in-TLS.
"""

import http.client
import io
import os
import socket
import ssl
import sys
from urllib.parse import urlsplit

TIMEOUT = 30


class Failure(Exception):
    """An error with a hint for the person reading it."""

    def __init__(self, message, hint=None):
        super().__init__(message)
        self.hint = hint


def env(name, required=False):
    value = os.environ.get(name, "")
    if required and not value:
        raise Failure(f"{name} is not set", "see examples/README.md for the variables")
    return value


def proxy_context():
    ca = env("PROXY_CA")
    # PROXY_CA, when given, is the only trust anchor for the proxy: it is a private CA.
    ctx = ssl.create_default_context(cafile=ca or None)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    combined = env("CLIENT_PEM")
    cert, key = (combined, combined) if combined else (env("CLIENT_CERT"), env("CLIENT_KEY"))
    if not cert or not key:
        raise Failure("no client certificate", "set CLIENT_CERT and CLIENT_KEY (or CLIENT_PEM): the mTLS proxy requires one")
    try:
        ctx.load_cert_chain(certfile=cert, keyfile=key)
    except (OSError, ssl.SSLError) as err:
        raise Failure(f"cannot load the client certificate {cert} / key {key}: {err}") from err
    return ctx


def target_context():
    ctx = ssl.create_default_context()  # the system roots
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    extra = env("TARGET_CA")
    if extra:
        ctx.load_verify_locations(cafile=extra)  # added to the system roots, not replacing them
    return ctx


class TlsInTls:
    """A TLS session carried over another socket-like object (the TLS connection to the proxy).

    Implements what http.client needs: sendall(), makefile('rb'), close()."""

    def __init__(self, outer, context, server_hostname):
        self._outer = outer
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._in, self._out, server_side=False, server_hostname=server_hostname)
        self._run(self._tls.do_handshake)

    def _flush(self):
        data = self._out.read()
        if data:
            self._outer.sendall(data)

    def _run(self, operation, *args):
        while True:
            try:
                result = operation(*args)
                self._flush()
                return result
            except ssl.SSLWantReadError:
                self._flush()
                data = self._outer.recv(65536)
                if not data:
                    self._in.write_eof()
                else:
                    self._in.write(data)
            except ssl.SSLWantWriteError:
                self._flush()

    def sendall(self, data):
        view = memoryview(data)
        while view:
            sent = self._run(self._tls.write, view)
            view = view[sent:]

    def recv_into(self, buffer):
        try:
            data = self._run(self._tls.read, len(buffer))
        except ssl.SSLEOFError:
            return 0  # the server closed the tunnel without close_notify
        except ssl.SSLZeroReturnError:
            return 0
        buffer[: len(data)] = data
        return len(data)

    def makefile(self, mode="rb", buffering=io.DEFAULT_BUFFER_SIZE):
        if mode != "rb":
            raise ValueError("only binary reading is supported")
        return io.BufferedReader(_Reader(self), buffering)

    def close(self):
        self._outer.close()


class _Reader(io.RawIOBase):
    def __init__(self, tls):
        self._tls = tls

    def readable(self):
        return True

    def readinto(self, buffer):
        return self._tls.recv_into(buffer)


def read_error_body(response):
    try:
        return response.read(4096).decode("utf-8", "replace").strip()
    except (OSError, http.client.HTTPException):
        return ""


def open_proxy(proxy):
    host, port = proxy.hostname, proxy.port or 443
    try:
        raw = socket.create_connection((host, port), timeout=TIMEOUT)
    except OSError as err:
        raise Failure(f"cannot connect to the proxy {host}:{port}: {err}", "check PROXY_URL and that egresskit is running") from err
    try:
        return proxy_context().wrap_socket(raw, server_hostname=host)
    except ssl.SSLCertVerificationError as err:
        raw.close()
        raise Failure(
            f"the proxy's certificate did not verify: {err.verify_message}",
            "set PROXY_CA to the CA that signed it (certs/ca.crt) and use a host name from its SANs in PROXY_URL",
        ) from err
    except Failure:
        raw.close()
        raise
    except (ssl.SSLError, OSError) as err:
        raw.close()
        raise Failure(f"TLS handshake with the proxy failed: {err}") from err


def fetch(target_url):
    proxy = urlsplit(env("PROXY_URL", required=True))
    if proxy.scheme != "https" or not proxy.hostname:
        raise Failure(f"PROXY_URL must be https://HOST:PORT for an mTLS proxy, got {proxy.geturl()!r}")
    target = urlsplit(target_url)
    if target.scheme not in ("http", "https") or not target.hostname:
        raise Failure(f"TARGET_URL must be an http:// or https:// URL, got {target_url!r}")

    outer = open_proxy(proxy)
    if target.scheme == "http":
        # Plain HTTP goes to the proxy as an absolute-URI request (RFC 9112 section 3.2.2).
        conn = http.client.HTTPConnection(proxy.hostname, proxy.port or 443, timeout=TIMEOUT)
        conn.sock = outer
        conn.request("GET", target_url)
        return conn.getresponse()

    port = target.port or 443
    authority = f"[{target.hostname}]:{port}" if ":" in target.hostname else f"{target.hostname}:{port}"
    outer.sendall(f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode("ascii"))
    answer = http.client.HTTPResponse(outer, method="CONNECT")
    answer.begin()
    if answer.status != 200:
        body = read_error_body(answer) if answer.getheader("content-length") else ""
        outer.close()
        raise Failure(f"the proxy refused CONNECT {authority}: {answer.status} {answer.reason}" + (f"\n{body}" if body else ""))

    try:
        inner = TlsInTls(outer, target_context(), target.hostname)
    except ssl.SSLCertVerificationError as err:
        outer.close()
        raise Failure(
            f"the certificate of {target.hostname} did not verify: {err.verify_message}",
            "set TARGET_CA to the destination's CA if it is private (a test CA, or an inspecting proxy's CA)",
        ) from err
    conn = http.client.HTTPConnection(target.hostname, port, timeout=TIMEOUT)
    conn.sock = inner
    path = target.path or "/"
    if target.query:
        path += "?" + target.query
    # http.client derives Host from the connection: set it to the URL's authority.
    conn.putrequest("GET", path, skip_host=True)
    conn.putheader("Host", target.netloc.rpartition("@")[2])
    conn.endheaders()
    return conn.getresponse()


def main():
    try:
        response = fetch(env("TARGET_URL", required=True))
        body = response.read()
    except Failure as err:
        print(f"error: {err}", file=sys.stderr)
        if err.hint:
            print(f"hint: {err.hint}", file=sys.stderr)
        return 1
    except ssl.SSLError as err:
        # With TLS 1.3 the proxy rejects a client certificate after the handshake, so the
        # refusal shows up on the first read.
        print(f"error: TLS failure: {err}", file=sys.stderr)
        if "CERTIFICATE_REQUIRED" in str(err) or "CERTIFICATE" in str(err).upper():
            print("hint: the proxy refused the client certificate: use one issued by the CA it trusts (--client-ca)", file=sys.stderr)
        return 1
    except (OSError, http.client.HTTPException) as err:
        print(f"error: {type(err).__name__}: {err}", file=sys.stderr)
        if isinstance(err, (ConnectionResetError, http.client.RemoteDisconnected)):
            print("hint: the proxy closed the connection: is the client certificate issued by the CA it trusts (--client-ca)?", file=sys.stderr)
        return 1
    print(response.status, response.reason)
    sys.stdout.write(body.decode("utf-8", "replace"))
    print()
    return 2 if response.status >= 400 else 0


if __name__ == "__main__":
    sys.exit(main())
