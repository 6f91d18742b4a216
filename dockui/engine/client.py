"""Connect to a Docker engine, negotiate the API version, and say clearly why not.

`connect()` is blocking (it pings the engine); call it from a worker thread.
"""

from __future__ import annotations

import contextlib
import errno
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import docker
from docker.constants import DEFAULT_DOCKER_API_VERSION, MINIMUM_DOCKER_API_VERSION
from docker.errors import DockerException
from docker.utils import version_lt

from dockui.engine.models import (
    ContainerSummary,
    EngineInfo,
    ImageSummary,
    Layer,
    layers_from_history,
)

DEFAULT_HOST = "unix:///var/run/docker.sock"
DEFAULT_TIMEOUT = 10


class EngineUnavailable(Exception):
    """The engine cannot be reached. `reason` says what is wrong, `hint` how to fix it."""

    def __init__(self, host: str, reason: str, hint: str = "") -> None:
        super().__init__(reason)
        self.host = host
        self.reason = reason
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.reason} {self.hint}".strip()


def resolve_host(host: str | None = None, environ: dict[str, str] | None = None) -> str:
    """The engine address: an explicit --host, else DOCKER_HOST, else the default socket."""
    env = os.environ if environ is None else environ
    return host or env.get("DOCKER_HOST") or DEFAULT_HOST


def negotiate_version(server_api: str, server_min: str | None = None) -> str:
    """The highest API version both sides speak (docker CLI's negotiation rule)."""
    chosen = DEFAULT_DOCKER_API_VERSION
    if version_lt(server_api, chosen):
        chosen = server_api
    if version_lt(chosen, MINIMUM_DOCKER_API_VERSION):
        raise ValueError(
            f"the engine speaks API {server_api}; dockui needs {MINIMUM_DOCKER_API_VERSION} "
            "or newer (Docker 1.12+)"
        )
    if server_min and version_lt(chosen, server_min):
        chosen = server_min
    return chosen


def explain(host: str, exc: BaseException) -> EngineUnavailable:
    """Turn whatever docker-py/requests/urllib3 raised into a sentence a user can act on."""
    if isinstance(exc, EngineUnavailable):
        return exc
    text = _chain_text(exc)
    parsed = urlparse(host)
    scheme = parsed.scheme
    where = parsed.path if scheme in ("unix", "npipe") else (parsed.netloc or host)
    lowered = text.lower()

    if scheme not in ("unix", "tcp", "http", "https", "ssh", "npipe", "fd") or (
        "invalid bind address" in lowered
        or "invalid port" in lowered
        or "invalid url" in lowered
        or "no connection adapters" in lowered
        or "not supported url scheme" in lowered
        or ("parse" in lowered and "url" in lowered)
    ):
        return EngineUnavailable(
            host,
            f"DOCKER_HOST={host!r} is not a Docker engine address.",
            "Use unix:///var/run/docker.sock, tcp://HOST:2376 or ssh://USER@HOST, "
            "or unset DOCKER_HOST to use the local engine.",
        )
    if _has_errno(exc, errno.EACCES) or "permission denied" in lowered:
        return EngineUnavailable(
            host,
            f"Permission denied on {where}.",
            "Add your user to the 'docker' group (sudo usermod -aG docker $USER, then log "
            "in again) or run dockui with sudo.",
        )
    if _has_errno(exc, errno.ENOENT) or "no such file or directory" in lowered:
        return EngineUnavailable(
            host,
            f"No Docker engine is running: the socket {where} does not exist.",
            "Start it (sudo systemctl start docker, or scripts/dev-engine.sh in a dockui "
            "checkout), or point DOCKER_HOST at a running engine.",
        )
    if _has_errno(exc, errno.ECONNREFUSED) or "connection refused" in lowered:
        return EngineUnavailable(
            host,
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
            host, f"Cannot resolve the host in {host}.", "Check the name in DOCKER_HOST."
        )
    if "timed out" in lowered or "timeout" in lowered:
        return EngineUnavailable(
            host,
            f"The engine at {where} did not answer in time.",
            "It may be overloaded or the network may be down; dockui keeps retrying.",
        )
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return EngineUnavailable(host, f"Cannot talk to the engine at {where}: {first}", "")


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


def _has_errno(exc: BaseException, code: int) -> bool:
    return any(isinstance(e, OSError) and e.errno == code for e in _chain(exc))


@dataclass
class Engine:
    """A connected engine: the docker-py client plus what we learned when connecting."""

    client: docker.DockerClient
    info: EngineInfo

    @property
    def api(self) -> docker.APIClient:
        return self.client.api

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a dead connection must never raise
            self.client.close()

    def ping(self) -> bool:
        return bool(self.api.ping())

    # Sparse lists: one request for all containers / images, no per-object inspect.
    def list_containers(self, ids: list[str] | None = None) -> list[ContainerSummary]:
        filters = {"id": ids} if ids else None
        return [
            ContainerSummary.from_api(raw) for raw in self.api.containers(all=True, filters=filters)
        ]

    def list_images(self) -> list[ImageSummary]:
        return [ImageSummary.from_api(raw) for raw in self.api.images()]

    def image(self, image_id: str) -> ImageSummary | None:
        try:
            raw = self.api.inspect_image(image_id)
        except docker.errors.NotFound:
            return None
        return ImageSummary.from_api(raw)

    def history(self, image: str) -> list[Layer]:
        return layers_from_history(self.api.history(image))

    def export_image(self, image: str, chunk_size: int = 1 << 20) -> Any:
        """The image export (`docker save`) as an iterator of byte chunks, streamed."""
        return self.api.get_image(image, chunk_size=chunk_size)

    def events(self, **kwargs: Any) -> Any:
        """The engine's event stream (decoded); `.close()` it from another thread to stop."""
        return self.api.events(decode=True, **kwargs)


def connect(host: str | None = None, timeout: int = DEFAULT_TIMEOUT) -> Engine:
    """Connect to the engine named by `host`, DOCKER_HOST or the default socket.

    Reads DOCKER_TLS_VERIFY / DOCKER_CERT_PATH like the docker CLI, negotiates the API
    version, pings, and raises EngineUnavailable with a clear reason on any failure.
    """
    address = resolve_host(host)
    try:
        env = dict(os.environ)
        env["DOCKER_HOST"] = address
        # Ask the unversioned /version endpoint first, then speak the highest common version.
        probe = docker.APIClient(
            **_client_kwargs(env), version=MINIMUM_DOCKER_API_VERSION, timeout=timeout
        )
        try:
            version = probe.version(api_version=False)
        finally:
            probe.close()
        api_version = negotiate_version(
            str(version.get("ApiVersion") or MINIMUM_DOCKER_API_VERSION),
            version.get("MinAPIVersion"),
        )
        client = docker.DockerClient(**_client_kwargs(env), version=api_version, timeout=timeout)
        client.ping()
    except (DockerException, OSError, ValueError, TypeError) as exc:
        raise explain(address, exc) from exc
    except Exception as exc:  # requests/urllib3 errors that are not OSError subclasses
        raise explain(address, exc) from exc
    info = EngineInfo(
        host=address,
        server_version=str(version.get("Version") or "?"),
        api_version=api_version,
        os=str(version.get("Os") or ""),
        arch=str(version.get("Arch") or ""),
        kernel=str(version.get("KernelVersion") or ""),
    )
    return Engine(client=client, info=info)


def _client_kwargs(env: dict[str, str]) -> dict[str, Any]:
    from docker.utils import kwargs_from_env

    kwargs = kwargs_from_env(environment=env)
    kwargs.setdefault("base_url", env["DOCKER_HOST"])
    return kwargs
