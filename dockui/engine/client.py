"""Connect to a Docker engine, negotiate the API version, and say clearly why not.

`connect()` is blocking (it pings the engine); call it from a worker thread.

Every engine the docker CLI reaches: an explicit host, DOCKER_HOST (unix, tcp, tcp+TLS
with DOCKER_TLS_VERIFY / DOCKER_CERT_PATH, ssh://), and docker contexts (see
`dockui.engine.contexts` for which one is active). Two things differ from plain
docker-py, on purpose:

- ssh:// goes through the system `ssh` binary (so ~/.ssh/config, agents, ProxyJump and
  ControlMaster all work) running `docker system dial-stdio` on the far side, like the
  docker CLI. docker-py's own ssh transport needs paramiko even with
  `use_ssh_client=True`, opens one ssh process per request, lets ssh's prompts and
  errors write over the terminal, cannot cancel a stream, and never times out a read.
  `_SSHTunnel` below runs ssh in batch mode with its stderr captured (for `explain()`),
  pools connections, honours read timeouts, and stops a stream by ending the process.
- A TLS engine's CA (ca.pem) is honoured even when REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE is
  set: requests lets those variables override a session's `verify` path, which makes
  every custom-CA engine fail verification on machines that set them.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import http.client
import io
import json
import os
import select
import shutil
import socket
import subprocess
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlparse

from dockui.engine.logs import ChunkedDecoder, unread_chunked_file
from dockui.engine.models import (
    ContainerSummary,
    EngineInfo,
    ImageSummary,
    Layer,
    api_path,
    layers_from_history,
)

if TYPE_CHECKING:
    import docker

    from dockui.engine.contexts import Target

DEFAULT_HOST = "unix:///var/run/docker.sock"
DEFAULT_TIMEOUT = 10
# The API versions dockui speaks: docker-py 7.1's newest and oldest (DEFAULT_ and
# MINIMUM_DOCKER_API_VERSION in docker.constants; a test keeps them in step). Here, not
# imported: a local engine is connected without loading docker-py (see dockerpy.py).
API_NEWEST = "1.44"
API_OLDEST = "1.24"


class EngineUnavailable(Exception):
    """The engine cannot be reached. `reason` says what is wrong, `hint` how to fix it."""

    def __init__(self, host: str, reason: str, hint: str = "") -> None:
        super().__init__(reason)
        self.host = host
        self.reason = reason
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.reason} {self.hint}".strip()


@dataclass(frozen=True, slots=True)
class ConnectionInfo(EngineInfo):
    """EngineInfo plus how we got there. `host` stays the address (the docker CLI and
    other tools are pointed at it); `display` is what a status line should show."""

    context: str = "default"  # the docker context's name; "default" for a plain address
    display: str = ""  # "staging (tcp://127.0.0.1:23760)", or the address for "default"
    transport: str = ""  # unix, tcp, tls, ssh, npipe, fd
    tls: bool = False


def resolve_host(host: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The engine address: an explicit --host, else DOCKER_HOST, else the active docker
    context's endpoint, else the default socket (the docker CLI's order)."""
    from dockui.engine.contexts import resolve

    env = os.environ if environ is None else environ
    try:
        return resolve(host=host, environ=env).host
    except EngineUnavailable:
        return host or env.get("DOCKER_HOST") or DEFAULT_HOST


def _version_lt(a: str, b: str) -> bool:
    def parts(v: str) -> tuple[int, ...]:
        return tuple(int(p) for p in v.split(".") if p.isdigit())

    return parts(a) < parts(b)


def negotiate_version(server_api: str, server_min: str | None = None) -> str:
    """The highest API version both sides speak (docker CLI's negotiation rule)."""
    chosen = API_NEWEST
    if _version_lt(server_api, chosen):
        chosen = server_api
    if _version_lt(chosen, API_OLDEST):
        raise ValueError(
            f"the engine speaks API {server_api}; dockui needs {API_OLDEST} or newer (Docker 1.12+)"
        )
    if server_min and _version_lt(chosen, server_min):
        chosen = server_min
    return chosen


# -- explaining failures -------------------------------------------------------------------
def explain(host: str, exc: BaseException, *, target: Target | None = None) -> EngineUnavailable:
    """Turn whatever docker-py/requests/urllib3/ssh raised into a sentence a user can act on.

    `host` is the engine address; with `target` (from contexts.resolve) the error names
    the context and the certificate directory in play.
    """
    if isinstance(exc, EngineUnavailable):
        return exc
    label = target.label if target is not None and target.label else host
    text = _chain_text(exc)
    parsed = urlparse(host)
    scheme = parsed.scheme
    where = parsed.path if scheme in ("unix", "npipe") else (parsed.netloc or host)
    lowered = text.lower()

    ssh = next((e for e in _chain(exc) if isinstance(e, SSHError)), None)
    if ssh is not None or scheme == "ssh":
        found = _explain_ssh(label, host, parsed, ssh, lowered)
        if found is not None:
            return found
    if scheme not in ("unix", "tcp", "http", "https", "ssh", "npipe", "fd") or (
        "invalid bind address" in lowered
        or "invalid port" in lowered
        or "invalid url" in lowered
        or "no connection adapters" in lowered
        or "not supported url scheme" in lowered
        or ("parse" in lowered and "url" in lowered)
    ):
        return EngineUnavailable(
            label,
            f"DOCKER_HOST={host!r} is not a Docker engine address.",
            "Use unix:///var/run/docker.sock, tcp://HOST:2376 or ssh://USER@HOST, "
            "or unset DOCKER_HOST to use the local engine.",
        )
    tls = _explain_tls(label, where, lowered, target)
    if tls is not None:
        return tls
    if _has_errno(exc, errno.EACCES) or "permission denied" in lowered:
        return EngineUnavailable(
            label,
            f"Permission denied on {where}.",
            "Add your user to the 'docker' group (sudo usermod -aG docker $USER, then log "
            "in again) or run dockui with sudo.",
        )
    if _has_errno(exc, errno.ENOENT) or "no such file or directory" in lowered:
        return EngineUnavailable(
            label,
            f"No Docker engine is running: the socket {where} does not exist.",
            "Start it (sudo systemctl start docker, or scripts/dev-engine.sh in a dockui "
            "checkout), or point DOCKER_HOST at a running engine.",
        )
    if _has_errno(exc, errno.ECONNREFUSED) or "connection refused" in lowered:
        return EngineUnavailable(
            label,
            f"Nothing answers at {where}: connection refused.",
            "Is dockerd running and listening there? Check DOCKER_HOST.",
        )
    if (
        "name or service not known" in lowered
        or "nodename nor servname" in lowered
        or "temporary failure in name resolution" in lowered
        or "failed to resolve" in lowered
    ):
        return EngineUnavailable(
            label, f"Cannot resolve the host in {host}.", "Check the name in DOCKER_HOST."
        )
    if "timed out" in lowered or "timeout" in lowered:
        return EngineUnavailable(
            label,
            f"The engine at {where} did not answer in time.",
            "It may be overloaded or the network may be down; dockui keeps retrying.",
        )
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return EngineUnavailable(label, f"Cannot talk to the engine at {where}: {first}", "")


def _explain_tls(
    label: str, where: str, lowered: str, target: Target | None
) -> EngineUnavailable | None:
    certs = f" in {target.cert_path}" if target is not None and target.cert_path else ""
    if "client sent an http request to an https server" in lowered:
        return EngineUnavailable(
            label,
            f"The engine at {where} requires TLS, but dockui connected without it.",
            "Set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH (a directory with ca.pem, cert.pem "
            "and key.pem), or use a docker context that has its TLS material.",
        )
    if any(
        s in lowered
        for s in (
            "wrong version number",
            "record layer failure",
            "packet length too long",
            "unknown protocol",
            "http request",
            "http_request",
        )
    ):
        return EngineUnavailable(
            label,
            f"dockui spoke TLS to {where}, but the engine there answers plain HTTP "
            "(a plain-TCP port, or TLS is not enabled on it).",
            "Unset DOCKER_TLS_VERIFY/DOCKER_TLS for a plain-TCP engine, or use the engine's "
            "TLS port (2376 by convention).",
        )
    if "certificate verify failed" in lowered or "certificateverificationerror" in lowered:
        if "mismatch" in lowered or "doesn't match" in lowered or "not valid for" in lowered:
            return EngineUnavailable(
                label,
                f"The engine's TLS certificate is not valid for the address {where} "
                "(hostname mismatch).",
                "Connect by a name or IP listed in the certificate's subjectAltName, or "
                "reissue the server certificate for this address.",
            )
        if "expired" in lowered:
            return EngineUnavailable(
                label,
                f"The TLS certificate of the engine at {where} has expired.",
                "Renew the server certificate (dockerd --tlscert).",
            )
        return EngineUnavailable(
            label,
            f"The TLS certificate of the engine at {where} is not signed by the CA dockui "
            f"trusts (ca.pem{certs}).",
            "Use the CA certificate that signed the engine's --tlscert as ca.pem.",
        )
    if any(
        s in lowered
        for s in (
            "alert bad certificate",
            "alert unknown ca",
            "certificate required",
            "alert certificate unknown",
            "alert handshake failure",
            "alert decrypt error",
            "alert access denied",
        )
    ) or ("eof occurred in violation of protocol" in lowered and "ssl" in lowered):
        return EngineUnavailable(
            label,
            f"The engine at {where} rejected dockui's TLS client certificate "
            f"(cert.pem/key.pem{certs}).",
            "The engine (dockerd --tlsverify) accepts only client certificates signed by its "
            "--tlscacert; use a cert.pem and key.pem issued by that CA.",
        )
    if "sslerror" in lowered or "ssl:" in lowered:
        line = next((p for p in lowered.split(" | ") if "ssl" in p), lowered)
        return EngineUnavailable(label, f"TLS with the engine at {where} failed: {line}", "")
    return None


def _explain_ssh(
    label: str, host: str, parsed: Any, ssh: SSHError | None, lowered: str
) -> EngineUnavailable | None:
    if not parsed.hostname:
        return EngineUnavailable(label, f"{host!r} names no host.", "Use ssh://USER@HOST[:PORT].")
    user = parsed.username
    hostname = parsed.hostname
    dest = f"{user}@{hostname}" if user else hostname
    try:
        port_number = parsed.port
    except ValueError:  # "ssh://host:notaport"
        return EngineUnavailable(
            label, f"{host!r} has an invalid port.", "Use ssh://USER@HOST[:PORT]."
        )
    port = f" -p {port_number}" if port_number else ""
    keygen_host = f"[{hostname}]:{port_number}" if port_number else hostname
    stderr = (ssh.stderr if ssh is not None else "").strip()
    said = stderr.lower() or lowered
    last = stderr.splitlines()[-1] if stderr else ""
    if last.startswith(f"{dest}: "):  # "root@host: Permission denied (publickey)."
        last = last[len(dest) + 2 :]
    last = last.removeprefix("failed to open the raw stream connection: ").removeprefix("ssh: ")
    if last and last[-1] not in ".!?":
        last += "."
    if ssh is not None and ssh.missing_binary:
        return EngineUnavailable(
            label,
            "dockui reaches ssh:// engines through the ssh client, and no `ssh` is installed "
            "(none on PATH).",
            "Install OpenSSH's client (e.g. apt install openssh-client).",
        )
    if "remote host identification has changed" in said:
        return EngineUnavailable(
            label,
            f"The ssh host key of {hostname} has CHANGED since you last connected: the server "
            "was reinstalled, or someone is intercepting the connection.",
            f"Check with the server's owner, then remove the old key: ssh-keygen -R "
            f"'{keygen_host}'",
        )
    if "host key verification failed" in said or "no host key is known" in said:
        return EngineUnavailable(
            label,
            f"The ssh host key of {hostname} is not known yet, so ssh refused to connect.",
            f"Connect once with `ssh{port} {dest}` and accept its key (dockui runs ssh "
            "without a terminal and cannot ask).",
        )
    if "permission denied (" in said or "too many authentication failures" in said:
        return EngineUnavailable(
            label,
            f"ssh refused the login as {dest}: {last or 'Permission denied.'}",
            "Load your key into ssh-agent (ssh-add) or set IdentityFile for this host in "
            "~/.ssh/config, and check the server's authorized_keys. dockui runs ssh in batch "
            "mode: it cannot type a password or a key's passphrase.",
        )
    if "could not resolve hostname" in said:
        return EngineUnavailable(
            label,
            f"ssh cannot resolve the host name {hostname}.",
            "Check the name in the ssh:// address (or its Host entry in ~/.ssh/config).",
        )
    if "connection refused" in said and ssh is not None and "dial" not in said:
        where = f"{hostname}:{port_number or 22}"
        return EngineUnavailable(
            label,
            f"Nothing accepts ssh connections at {where}: connection refused.",
            "Is sshd running there, on that port?",
        )
    if ssh is not None and ("timed out" in said or "no route to host" in said):
        return EngineUnavailable(
            label,
            f"ssh could not reach {hostname}: {last}",
            "Check the network path (VPN, firewall) to the server; dockui keeps retrying.",
        )
    if ssh is not None and (
        "command not found" in said or "docker: not found" in said or ssh.returncode == 127
    ):
        return EngineUnavailable(
            label,
            f"ssh works, but {hostname} has no `docker` command: dockui runs `docker system "
            "dial-stdio` there to reach its engine.",
            f"Install the docker CLI on {hostname}, on the PATH of non-interactive ssh sessions.",
        )
    if ssh is not None and (
        "dial-stdio" in said
        or "raw stream connection" in said
        or "cannot connect to the docker daemon" in said
        or "dial unix" in said
    ):
        fix = (
            f"Add {user or 'your user'} to the docker group on {hostname}."
            if "permission denied" in said
            else f"Is dockerd running on {hostname}?"
        )
        return EngineUnavailable(
            label, f"ssh works, but docker on {hostname} cannot reach its engine: {last}", fix
        )
    if ssh is not None:
        return EngineUnavailable(
            label,
            f"ssh to {dest} failed: {last or f'exit status {ssh.returncode}.'}",
            f"Try `ssh{port} {dest} docker version` in a terminal to see why.",
        )
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    stack: list[BaseException | None] = [exc]
    while stack:
        cur = stack.pop()
        if cur is None or any(cur is s for s in seen):
            continue
        seen.append(cur)
        stack.extend([cur.__cause__, cur.__context__])
        stack.extend(a for a in getattr(cur, "args", ()) if isinstance(a, BaseException))
        reason = getattr(cur, "reason", None)
        if isinstance(reason, BaseException):
            stack.append(reason)
    return seen


def _chain_text(exc: BaseException) -> str:
    return " | ".join(f"{type(e).__name__}: {e}" for e in _chain(exc))


class EngineHTTPError(Exception):
    """An error answer from get_json; `status_code` as on docker-py's APIError."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


def _error_message(body: bytes) -> str:
    try:
        return str(json.loads(body).get("message") or "")
    except (ValueError, AttributeError):
        return body.decode("utf-8", "replace")[:200]


def unix_socket(path: str, timeout: float | None) -> socket.socket:
    """A stream socket connected to the engine's unix socket at `path` (closed on failure)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        raise
    return sock


def raw_get_request(url: str) -> bytes:
    """A keep-alive HTTP/1.1 GET of `url` (path and query) for the engine, as bytes."""
    return f"GET {url} HTTP/1.1\r\nHost: docker\r\nUser-Agent: dockui\r\n\r\n".encode()


class HTTPAnswer:
    """One HTTP/1.1 answer read incrementally from a socket (status, body).

    A third of http.client's CPU for a small answer (no header objects, no buffered
    file): the watcher's ping every second and every visible container's stats every two
    seconds are read with it. Big bodies (lists) stay with http.client, whose buffered
    reads copy them fewer times (755 KB of containers: 0.9 ms against 2.1 ms here)."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.status = 0
        self.body = b""
        self.keep_alive = True
        self._length: int | None = None
        self._chunks: ChunkedDecoder | None = None
        self._parts: list[bytes] = []
        self._head_done = False
        self.done = False

    def feed(self, data: bytes) -> bool:
        """Take what the socket gave (b"" at its end); True once the response is whole."""
        if not data:  # the engine closed the connection
            if self._head_done and self._length is None and self._chunks is None:
                self.body, self.done, self.keep_alive = bytes(self._buf), True, False
                return True
            raise ConnectionError("the engine closed the connection mid-answer")
        self._buf += data
        if not self._head_done:
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buf) > 65536:
                    raise ValueError("no end of the answer's headers")
                return False
            head = bytes(self._buf[:end]).decode("latin-1").split("\r\n")
            del self._buf[: end + 4]
            status_line = head[0].split(" ", 2)
            if len(status_line) < 2 or not status_line[0].startswith("HTTP/"):
                raise ValueError(f"not an HTTP answer: {head[0][:40]!r}")
            self.status = int(status_line[1])
            for line in head[1:]:
                name, _, value = line.partition(":")
                name, value = name.strip().lower(), value.strip().lower()
                if name == "content-length":
                    self._length = int(value)
                elif name == "transfer-encoding" and "chunked" in value:
                    self._chunks = ChunkedDecoder()
                elif name == "connection" and value == "close":
                    self.keep_alive = False
            self._head_done = True
            if self.status in (204, 304):
                self.done = True  # no body follows
                return True
        if self._chunks is not None:
            self._parts.append(self._chunks.feed(bytes(self._buf)))
            self._buf.clear()
            if self._chunks.done:
                self.body, self.done = b"".join(self._parts), True
        elif self._length is not None and len(self._buf) >= self._length:
            self.body, self.done = bytes(self._buf[: self._length]), True
        return self.done


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, socket_path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self) -> None:
        self.sock = unix_socket(self.socket_path, self.timeout)


def _send_get(conn: _UnixConnection, url: str) -> http.client.HTTPResponse:
    """GET `url` on `conn`; an error status raises EngineHTTPError (with the engine's
    message), a success returns the response with its body unread."""
    conn.request("GET", url, headers={"User-Agent": "dockui"})
    response = conn.getresponse()
    if response.status >= 400:
        raise EngineHTTPError(response.status, _error_message(response.read()))
    return response


def _has_errno(exc: BaseException, code: int) -> bool:
    return any(isinstance(e, OSError) and e.errno == code for e in _chain(exc))


# -- the engine ----------------------------------------------------------------------------
@dataclass
class Engine:
    """A connected engine: what we learned when connecting, plus a docker-py client that is
    built on first use (`client`, `api`).

    On a local unix socket the start-up path (version, lists, events, pings, stats, image
    history) speaks plain HTTP over http.client and never loads docker-py; other
    transports (tcp, TLS, ssh) go through docker-py for everything.
    """

    info: EngineInfo
    target: Target | None = field(default=None, compare=False)
    # Builds the docker-py client (first use of `client`/`api`); None with `_client` given.
    client_factory: Callable[[], docker.DockerClient] | None = field(
        default=None, compare=False, repr=False
    )
    _client: docker.DockerClient | None = field(default=None, compare=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)
    # Per-thread keep-alive connections of the lean path on a local socket (http.client
    # for lists and inspects, raw sockets for pings).
    _local: threading.local = field(default_factory=threading.local, compare=False, repr=False)
    _lean_conns: weakref.WeakSet[_UnixConnection] = field(
        default_factory=weakref.WeakSet, compare=False, repr=False
    )
    _lean_socks: weakref.WeakSet[socket.socket] = field(
        default_factory=weakref.WeakSet, compare=False, repr=False
    )

    @property
    def client(self) -> docker.DockerClient:
        client = self._client
        if client is None:
            with self._lock:
                client = self._client
                if client is None:
                    if self.client_factory is None:
                        raise RuntimeError("this engine has no docker-py client")
                    client = self._client = self.client_factory()
        return client

    @property
    def api(self) -> docker.APIClient:
        return self.client.api

    @property
    def socket_path(self) -> str | None:
        """The local unix socket, where the lean path applies; None for other transports."""
        host = self.info.host
        return host[len("unix://") :] if host.startswith("unix://") else None

    def get_json(
        self, path: str, params: Mapping[str, str] | None = None, timeout: float = 30.0
    ) -> Any:
        """GET an API path (e.g. `/containers/ID/stats`, built with `api_path`) and decode
        its JSON.

        On a local unix socket this goes over a plain http.client keep-alive connection,
        one per thread: a quarter of the CPU of a docker-py (requests) call, which is what a
        stats poller pays for every visible container every two seconds, and no docker-py
        import on the way to the first list. Other transports (tcp, TLS, ssh) go through
        docker-py. Errors carry `status_code` like docker-py's.
        """
        socket_path = self.socket_path
        if socket_path is None:
            api = self.api
            response = api._get(api._url(path.replace("{", "{{").replace("}", "}}")),
                                params=params, timeout=timeout)  # fmt: skip
            return api._result(response, json=True)
        return json.loads(self._lean_get(socket_path, path, params, timeout))

    def _lean_get(
        self, socket_path: str, path: str, params: Mapping[str, str] | None, timeout: float
    ) -> bytes:
        url = self._url(path, params)
        for attempt in (1, 2):
            conn: _UnixConnection | None = getattr(self._local, "conn", None)
            if conn is None:
                conn = self._local.conn = _UnixConnection(socket_path, timeout)
                self._lean_conns.add(conn)
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
            try:
                return _send_get(conn, url).read()  # an error status raises EngineHTTPError
            except (http.client.HTTPException, ConnectionResetError, BrokenPipeError) as exc:
                conn.close()  # the engine closed an idle keep-alive (or restarted): once more
                self._local.conn = None
                if attempt == 2:
                    raise EngineHTTPError(0, f"the engine's answer broke off ({exc})") from exc
                continue
            except OSError:  # refused, socket gone, timed out: the caller explains it
                conn.close()
                self._local.conn = None
                raise
        raise AssertionError("unreachable")

    def _small_get(self, socket_path: str, path: str, timeout: float) -> bytes:
        """GET a small answer (a ping) on this thread's raw keep-alive socket: the body, or
        EngineHTTPError for an error status. 66 us of CPU for a ping against http.client's
        222 us here, and the watcher pings every second; big answers go by `_lean_get`.

        A kept socket the engine closed meanwhile (it restarted, or dropped an idle
        connection) is replaced once; refused, missing or timed out raises OSError for the
        caller to explain."""
        request = raw_get_request(self._url(path))
        for attempt in (1, 2):
            sock: socket.socket | None = getattr(self._local, "raw", None)
            if sock is not None and sock.fileno() < 0:  # closed with the engine
                sock = None
            kept = sock is not None
            if sock is None:
                sock = self._local.raw = unix_socket(socket_path, timeout)
                self._lean_socks.add(sock)
            else:
                sock.settimeout(timeout)
            answer = HTTPAnswer()
            try:
                sock.sendall(request)
                while not answer.feed(sock.recv(65536)):
                    pass
            except (ConnectionError, ValueError) as exc:
                self._drop_raw(sock)
                if kept and attempt == 1 and not answer.status:
                    continue  # the engine had closed the kept socket: once more, afresh
                raise EngineHTTPError(0, f"the engine's answer broke off ({exc})") from exc
            except OSError:  # timed out, or the socket went: the caller explains it
                self._drop_raw(sock)
                raise
            if not answer.keep_alive:
                self._drop_raw(sock)
            if answer.status >= 400:
                raise EngineHTTPError(answer.status, _error_message(answer.body))
            return answer.body
        raise AssertionError("unreachable")

    def _drop_raw(self, sock: socket.socket) -> None:
        if getattr(self._local, "raw", None) is sock:
            self._local.raw = None
        self._lean_socks.discard(sock)
        with contextlib.suppress(OSError):
            sock.close()

    def _url(self, path: str, params: Mapping[str, str] | None = None) -> str:
        """`path` at the negotiated API version, with its query."""
        return f"/v{self.info.api_version}{path}" + (f"?{urlencode(params)}" if params else "")

    def close(self) -> None:
        for conn in [*self._lean_conns, *self._lean_socks]:
            with contextlib.suppress(Exception):
                conn.close()
        if self._client is not None:
            with contextlib.suppress(Exception):  # closing a dead connection must never raise
                self._client.close()

    def ping(self, timeout: float | None = None) -> bool:
        """GET /_ping; with `timeout`, a dead connection fails fast instead of hanging.
        On a local socket it goes the lean way (the watcher pings every second)."""
        socket_path = self.socket_path
        if socket_path is not None:
            body = self._small_get(socket_path, "/_ping", timeout or DEFAULT_TIMEOUT)
            return body.strip() == b"OK"
        if timeout is None:
            return bool(self.api.ping())
        api = self.api
        response = api._get(api._url("/_ping"), timeout=timeout)
        return api._result(response) == "OK"

    def cli_env(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """An environment pointing the docker CLI at this engine, at its API version
        (DOCKER_HOST plus TLS variables; a context's certificates included)."""
        if self.target is not None:
            env = self.target.cli_env(environ)
        else:
            env = dict(os.environ if environ is None else environ)
            env.pop("DOCKER_CONTEXT", None)
            env["DOCKER_HOST"] = self.info.host
        env["DOCKER_API_VERSION"] = self.info.api_version
        return env

    # Sparse lists: one request for all containers / images, no per-object inspect.
    def list_containers(self, ids: list[str] | None = None) -> list[ContainerSummary]:
        params = {"all": "1"}
        if ids:
            params["filters"] = json.dumps({"id": ids})
        return [ContainerSummary.from_api(raw) for raw in self.get_json("/containers/json", params)]

    def list_images(self) -> list[ImageSummary]:
        return [ImageSummary.from_api(raw) for raw in self.get_json("/images/json")]

    def image(self, image_id: str) -> ImageSummary | None:
        try:
            raw = self.get_json(api_path("/images/{}/json", image_id))
        except Exception as exc:  # EngineHTTPError here, docker.errors.NotFound via docker-py
            if getattr(exc, "status_code", None) == 404:
                return None
            raise
        return ImageSummary.from_api(raw)

    def history(self, image: str) -> list[Layer]:
        return layers_from_history(self.get_json(api_path("/images/{}/history", image)))

    def export_image(self, image: str, chunk_size: int = 1 << 20) -> Any:
        """The image export (`docker save`) as an iterator of byte chunks, streamed."""
        return self.api.get_image(image, chunk_size=chunk_size)

    def events(self, filters: Mapping[str, list[str]] | None = None, linger: float = 0.0) -> Any:
        """The engine's event stream (decoded dicts); `.close()` it from another thread to
        stop. Works on every transport: over ssh, closing ends the ssh process behind it.
        On a local socket, `linger` batches a burst's reads (see EventStream)."""
        socket_path = self.socket_path
        if socket_path is None:
            return self.api.events(decode=True, filters=dict(filters) if filters else None)
        params = {"filters": json.dumps(dict(filters))} if filters else None
        return EventStream(socket_path, self._url("/events", params), linger=linger)


class EventStream:
    """`GET /events` on a local socket: an iterator of event dicts until the engine closes
    it or `close()` (from any thread) shuts the socket down.

    The engine sends every event as its own HTTP chunk; through http.client each read
    returned one event. Here the socket is read in 64 KiB blocks and the chunking undone
    by `ChunkedDecoder`, and after a block the reader waits `linger` seconds (a `close()`
    ends the wait) so that a burst's events arrive as a few big reads: in a 500-container
    removal it woke ~780 times, each time asking the UI thread for the interpreter. The
    first event after a quiet spell is read at once.
    """

    def __init__(
        self, socket_path: str, url: str, timeout: float = DEFAULT_TIMEOUT, linger: float = 0.0
    ) -> None:
        conn = _UnixConnection(socket_path, timeout)
        try:
            response = _send_get(conn, url)  # the engine sends its headers at once
        except BaseException:
            conn.close()
            raise
        if conn.sock is not None:
            conn.sock.settimeout(None)  # events may be hours apart; pings watch the engine
        self._conn = conn
        self._sock = conn.sock
        self._response = response
        self._closed = False
        self._closing = threading.Event()
        self.linger = linger
        self.reads = 0

    def _blocks(self) -> Iterator[bytes]:
        """The body as it comes, chunking undone; ends with the stream."""
        response = self._response
        raw = unread_chunked_file(response)
        if raw is None:
            while data := response.read1(65536):  # not chunked: http.client reads it
                self.reads += 1
                yield data
            return
        chunks = ChunkedDecoder()
        while not chunks.done:
            block = raw.read1(65536)
            self.reads += 1
            if not block:
                return
            yield chunks.feed(block)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        pending = b""
        blocks = self._blocks()
        while not self._closed:
            try:
                data = next(blocks, None)
            except (OSError, ValueError, http.client.HTTPException):
                if self._closed:
                    return
                raise
            if data is None:
                return
            pending += data
            *whole, pending = pending.split(b"\n")
            for line in whole:
                if line.strip():
                    yield json.loads(line)
            if self.linger and whole:
                self._closing.wait(self.linger)

    def close(self) -> None:
        self._closed = True
        self._closing.set()
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes a reader blocked in read1
        with contextlib.suppress(Exception):
            self._conn.close()


def _lean_version(socket_path: str, timeout: float) -> dict[str, Any]:
    """GET /version (unversioned) over a one-off connection to a local socket."""
    conn = _UnixConnection(socket_path, timeout)
    try:
        version = json.loads(_send_get(conn, "/version").read())
    finally:
        conn.close()
    if not isinstance(version, dict):
        raise EngineHTTPError(200, "not a Docker engine's /version answer")
    return version


def connect(
    host: str | None = None,
    timeout: int = DEFAULT_TIMEOUT,
    context: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Engine:
    """Connect to an explicit `host`, a named docker `context`, or whatever the docker CLI
    would use (DOCKER_HOST, DOCKER_CONTEXT, the config's current context, the default
    socket). Reads DOCKER_TLS_VERIFY / DOCKER_CERT_PATH like the CLI, negotiates the API
    version, pings, and raises EngineUnavailable with a clear reason on any failure.
    """
    from dockui.engine.contexts import resolve

    target = resolve(context=context, host=host, environ=environ)
    address = target.host
    scheme = urlparse(address).scheme
    if scheme == "ssh" and _ssh_binary(environ) is None:
        raise explain(address, SSHError("no ssh binary", missing_binary=True), target=target)
    client: docker.DockerClient | None = None
    if scheme == "unix":
        # A local socket: /version over http.client, docker-py only when first needed.
        try:
            version = _lean_version(address[len("unix://") :], timeout)
            api_version = negotiate_version(
                str(version.get("ApiVersion") or API_OLDEST), version.get("MinAPIVersion")
            )
        except Exception as exc:
            raise explain(address, exc, target=target) from exc
    else:
        from dockui.engine.dockerpy import build_client

        try:
            # Ask the unversioned /version endpoint first, then speak the highest common
            # version over the same client (one handshake: it matters over ssh and TLS).
            client = build_client(target, API_OLDEST, timeout, environ)
            version = client.api.version(api_version=False)
            api_version = negotiate_version(
                str(version.get("ApiVersion") or API_OLDEST), version.get("MinAPIVersion")
            )
            client.api._version = api_version  # /version answered: no separate ping
        except Exception as exc:  # docker-py, requests/urllib3 (not all OSError), ssh, TLS
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close()
            raise explain(address, exc, target=target) from exc
    transport = {"https": "tls", "http": "tcp"}.get(scheme, scheme)
    if scheme == "tcp":
        transport = "tls" if target.tls_config is not None else "tcp"
    info = ConnectionInfo(
        host=address,
        server_version=str(version.get("Version") or "?"),
        api_version=api_version,
        os=str(version.get("Os") or ""),
        arch=str(version.get("Arch") or ""),
        kernel=str(version.get("KernelVersion") or ""),
        context=target.name,
        display=target.label or address,
        transport=transport,
        tls=target.tls_config is not None,
    )

    def factory() -> docker.DockerClient:
        from dockui.engine.dockerpy import build_client

        return build_client(target, api_version, timeout, environ)

    return Engine(info=info, target=target, client_factory=factory, _client=client)


# -- ssh:// through the system ssh ---------------------------------------------------------
class SSHError(ConnectionError):
    """ssh ended before the engine answered; `stderr` is what ssh (or the remote) said."""

    def __init__(
        self,
        message: str,
        stderr: str = "",
        returncode: int | None = None,
        *,
        missing_binary: bool = False,
    ) -> None:
        super().__init__(message)
        self.stderr = stderr
        self.returncode = returncode
        self.missing_binary = missing_binary


def _ssh_binary(environ: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    return shutil.which("ssh", path=env.get("PATH"))


_LIVE_TUNNELS: weakref.WeakSet[_SSHTunnel] = weakref.WeakSet()
_DEAD_FD: list[int] = []  # one pipe read end whose writer is closed: always "readable, EOF"
_DEAD_LOCK = threading.Lock()


def _dead_fd() -> int:
    with _DEAD_LOCK:
        if not _DEAD_FD:
            r, w = os.pipe()
            os.close(w)
            _DEAD_FD.append(r)
        return _DEAD_FD[0]


@atexit.register
def _close_all_tunnels() -> None:
    """Never leave an ssh process behind when dockui exits."""
    for tunnel in list(_LIVE_TUNNELS):
        with contextlib.suppress(Exception):
            tunnel.close()


class _SSHTunnel:
    """A socket-like byte pipe to the remote engine: `ssh HOST docker system dial-stdio`.

    Reads honour the socket timeout (select on the pipe), a dead ssh shows as a readable
    fileno (so urllib3 drops it from the pool), and close() ends the process, which also
    wakes a reader blocked on an event or log stream.
    """

    def __init__(self, url: str, environ: Mapping[str, str] | None = None) -> None:
        parsed = urlparse(url)
        if not parsed.hostname:
            raise SSHError(f"{url!r} names no host")
        self.url = url
        self.user = parsed.username
        self.hostname = parsed.hostname
        self.port = parsed.port
        self._environ = environ
        self._timeout: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._out = -1
        self._in = -1
        self._stderr: deque[str] = deque(maxlen=40)
        self._stderr_done = threading.Event()
        self._lock = threading.Lock()
        self._readers = 0
        self._closed = False
        self._received = 0

    # socket API used by http.client / urllib3 / docker-py --------------------------------
    def settimeout(self, value: float | None) -> None:
        self._timeout = value

    def gettimeout(self) -> float | None:
        return self._timeout

    def setsockopt(self, *args: Any) -> None:
        pass

    def fileno(self) -> int:
        with self._lock:
            return self._out if self._out >= 0 and not self._closed else _dead_fd()

    def connect(self, *_: Any) -> None:
        ssh = _ssh_binary(self._environ)
        if ssh is None:
            raise SSHError("no ssh client on PATH", missing_binary=True)
        connect_timeout = max(1, int(self._timeout)) if self._timeout else 30
        argv = [
            ssh, "-T",
            "-o", "BatchMode=yes",  # never prompt (there is no terminal to prompt on)
            "-o", f"ConnectTimeout={connect_timeout}",
            "-o", "ServerAliveInterval=10",  # a dead network ends ssh, and so the stream
            "-o", "ServerAliveCountMax=3",
        ]  # fmt: skip
        if self.user:
            argv += ["-l", self.user]
        if self.port:
            argv += ["-p", str(self.port)]
        argv += ["--", self.hostname, "docker", "system", "dial-stdio"]
        env = dict(os.environ if self._environ is None else self._environ)
        env.pop("LD_LIBRARY_PATH", None)  # as docker-py: frozen apps' libs break ssh
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                bufsize=0,
                env=env,
            )
        except FileNotFoundError as exc:
            raise SSHError(f"cannot run {ssh}", missing_binary=True) from exc
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        self._proc = proc
        self._in = proc.stdin.fileno()
        self._out = proc.stdout.fileno()
        _LIVE_TUNNELS.add(self)
        threading.Thread(
            target=self._drain_stderr, args=(proc.stderr,), name="dockui-ssh-stderr", daemon=True
        ).start()

    def _drain_stderr(self, stream: Any) -> None:
        try:
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip()
                if line:
                    self._stderr.append(line)
        except (OSError, ValueError):
            pass
        finally:
            self._stderr_done.set()

    def sendall(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            with self._lock:
                if self._closed or self._in < 0:
                    raise OSError(errno.EBADF, "ssh tunnel is closed")
                fd = self._in
                self._readers += 1
            try:
                if self._timeout is not None:
                    _, ready, _ = select.select([], [fd], [], self._timeout)
                    if not ready:
                        raise TimeoutError("timed out")
                written = os.write(fd, view[: 1 << 16])
            except BrokenPipeError as exc:
                self._raise_failure(exc)
                raise
            finally:
                self._release()
            view = view[written:]

    def send(self, data: bytes) -> int:
        self.sendall(data)
        return len(data)

    def recv(self, n: int) -> bytes:
        buf = bytearray(n)
        got = self._readinto(memoryview(buf))
        return bytes(buf[:got])

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        reader = io.BufferedReader(_TunnelRaw(self), buffer_size=1 << 16)
        reader.channel = self  # type: ignore[attr-defined]  # docker-py's ssh lookups
        return reader

    def shutdown(self, how: int = 0) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            proc = self._proc
            idle = self._readers == 0
        if proc is not None:
            with contextlib.suppress(OSError):
                proc.terminate()
            reaper = threading.Thread(target=_reap, args=(proc,), name="dockui-ssh-reap")
            reaper.daemon = True
            reaper.start()
        if idle:
            self._close_fds()
        _LIVE_TUNNELS.discard(self)

    # internals -----------------------------------------------------------------------------
    def _release(self) -> None:
        with self._lock:
            self._readers -= 1
            last = self._closed and self._readers == 0
        if last:
            self._close_fds()

    def _close_fds(self) -> None:
        proc = self._proc
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError, ValueError):
                if stream is not None:
                    stream.close()
        with self._lock:
            self._in = self._out = -1

    def _readinto(self, buf: memoryview) -> int:
        with self._lock:
            if self._closed or self._out < 0:
                return 0
            fd = self._out
            self._readers += 1
        try:
            if self._timeout is not None:
                ready, _, _ = select.select([fd], [], [], self._timeout)
                if not ready:
                    raise TimeoutError("timed out")
            data = os.read(fd, len(buf))
        finally:
            self._release()
        if not data:
            if self._received == 0 and not self._closed:
                self._raise_failure(None)
            return 0
        self._received += len(data)
        buf[: len(data)] = data
        return len(data)

    def _raise_failure(self, cause: BaseException | None) -> None:
        """ssh closed on us before the engine said a word: raise what ssh said."""
        proc = self._proc
        if proc is None or self._closed:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=3)
        self._stderr_done.wait(1)
        stderr = "\n".join(self._stderr)
        code = proc.returncode
        if code in (0, None) and not stderr:
            return
        dest = f"{self.user}@{self.hostname}" if self.user else self.hostname
        last = stderr.splitlines()[-1] if stderr else f"exit status {code}"
        raise SSHError(f"ssh {dest}: {last}", stderr, code) from cause


class _TunnelRaw(io.RawIOBase):
    """The raw stream under the tunnel's makefile(); `.sock` lets docker-py's
    CancellableStream.close() find the tunnel and end it."""

    def __init__(self, tunnel: _SSHTunnel) -> None:
        super().__init__()
        self.sock = tunnel

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        return self.sock._readinto(memoryview(buf).cast("B"))


def _reap(proc: subprocess.Popen[bytes]) -> None:
    try:
        proc.wait(timeout=2)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            proc.kill()
        with contextlib.suppress(Exception):
            proc.wait(timeout=2)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        with contextlib.suppress(OSError, ValueError):
            if stream is not None:
                stream.close()


def wait_closed(engine: Engine, timeout: float = 3.0) -> bool:
    """For tests and clean exits: True once no ssh process of `engine` is alive."""
    client = engine._client  # never built: no ssh process was ever started
    adapter = getattr(client.api, "_custom_adapter", None) if client is not None else None
    tunnels = list(getattr(adapter, "tunnels", ()))
    deadline = time.monotonic() + timeout
    for tunnel in tunnels:
        proc = tunnel._proc
        while proc is not None and proc.poll() is None:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
    return True
