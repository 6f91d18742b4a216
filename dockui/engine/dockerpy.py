"""docker-py, loaded only when something needs it (see `dockui.engine.client`).

A local engine (unix socket) is connected, listed and watched over plain http.client:
importing docker-py and requests costs ~150 ms of start-up, more than the engine takes to
answer. Everything else (actions, builds, inspects, TLS, ssh://) goes through the client
built here, on first use: ssh:// through the system ssh (`_SSHAdapter`), and a TLS
engine's CA kept when REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE are set.
"""

from __future__ import annotations

import contextlib
import warnings
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import docker
import requests.adapters
import urllib3
import urllib3.connection
import urllib3.connectionpool
from docker.constants import DEFAULT_MAX_POOL_SIZE, DEFAULT_NUM_POOLS_SSH
from docker.transport.basehttpadapter import BaseHTTPAdapter

from dockui.engine.client import _SSHTunnel

if TYPE_CHECKING:
    from dockui.engine.contexts import Target


def build_client(
    target: Target, version: str, timeout: int, environ: Mapping[str, str] | None
) -> docker.DockerClient:
    """A docker-py client for `target`, speaking API `version` (no request is made)."""
    return _DockerClient(_APIClient(target, version, timeout, environ))


class _DockerClient(docker.DockerClient):
    """A DockerClient around an APIClient we built (DockerClient.__init__ only sets .api)."""

    def __init__(self, api: docker.APIClient) -> None:  # no super(): it would build a client
        self.api = api


class _APIClient(docker.APIClient):
    """docker-py's APIClient, reaching ssh:// through the system ssh and keeping a TLS
    engine's CA when REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE are set."""

    def __init__(
        self, target: Target, version: str, timeout: int, environ: Mapping[str, str] | None
    ) -> None:
        if target.tls_config is not None and target.tls_config.verify is False:
            # The user chose skip-verify (DOCKER_TLS / SkipTLSVerify); urllib3 would warn on
            # stderr at every request, over the TUI.
            warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
        if urlparse(target.host).scheme != "ssh":
            super().__init__(
                base_url=target.host, tls=target.tls_config or False, version=version,
                timeout=timeout,
            )  # fmt: skip
            return
        # docker-py builds its ssh adapter only with paramiko importable; build the client
        # on an inert placeholder (never contacted: the version is explicit), then mount
        # our own adapter the way docker-py mounts its ssh one.
        super().__init__(base_url="unix:///dev/null", version=version, timeout=timeout)
        adapter = _SSHAdapter(target.host, timeout=timeout, environ=environ)
        self._custom_adapter = adapter
        self.mount("http+docker://ssh", adapter)
        for prefix in list(self.adapters):
            if prefix != "http+docker://ssh":
                self.adapters.pop(prefix)
        self.base_url = "http+docker://ssh"

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if verify is None and self.verify is not True and self.verify is not None:
            settings["verify"] = self.verify  # our ca.pem (or skip-verify) beats the env's
        return settings


class _SSHConnection(urllib3.connection.HTTPConnection):
    def __init__(self, adapter: _SSHAdapter, timeout: Any) -> None:
        super().__init__("localhost", timeout=timeout)
        self._adapter = adapter
        self.timeout = timeout

    def connect(self) -> None:
        tunnel = _SSHTunnel(self._adapter.url, self._adapter.environ)
        timeout = self.timeout if isinstance(self.timeout, (int, float)) else None
        tunnel.settimeout(timeout)
        tunnel.connect()
        self._adapter.tunnels.add(tunnel)
        self.sock = tunnel  # type: ignore[assignment]


class _SSHConnectionPool(urllib3.connectionpool.HTTPConnectionPool):
    scheme = "ssh"

    def __init__(self, adapter: _SSHAdapter, timeout: Any, maxsize: int) -> None:
        super().__init__("localhost", timeout=timeout, maxsize=maxsize)
        self._adapter = adapter
        self.timeout = timeout

    def _new_conn(self) -> _SSHConnection:  # type: ignore[override]
        return _SSHConnection(self._adapter, self.timeout)


class _SSHAdapter(BaseHTTPAdapter):
    __attrs__ = [*requests.adapters.HTTPAdapter.__attrs__, "pools", "timeout", "max_pool_size"]

    def __init__(
        self,
        url: str,
        timeout: Any = 60,
        environ: Mapping[str, str] | None = None,
        pool_connections: int = DEFAULT_NUM_POOLS_SSH,
        max_pool_size: int = DEFAULT_MAX_POOL_SIZE,
    ) -> None:
        self.url = url
        self.environ = environ
        self.timeout = timeout
        self.max_pool_size = max_pool_size
        self.tunnels: weakref.WeakSet[_SSHTunnel] = weakref.WeakSet()
        self.pools = urllib3._collections.RecentlyUsedContainer(
            pool_connections, dispose_func=lambda p: p.close()
        )
        super().__init__()

    def get_connection(self, url: Any, proxies: Any = None) -> _SSHConnectionPool:
        # One pool for every URL (docker-py keys pools by URL, path included: over ssh
        # that is one handshake per distinct endpoint).
        with self.pools.lock:
            pool = self.pools.get("ssh")
            if pool:
                return pool
            pool = _SSHConnectionPool(self, self.timeout, self.max_pool_size)
            self.pools["ssh"] = pool
        return pool

    def request_url(self, request: Any, proxies: Any) -> str:
        return request.path_url  # no proxies for a pipe

    def close(self) -> None:
        super().close()
        for tunnel in list(self.tunnels):  # streams still out (events, logs) end too
            with contextlib.suppress(Exception):
                tunnel.close()
