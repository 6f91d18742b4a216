"""Suggest host ports for a run dialog: the container's own port when it is free and
unprivileged, else the first free one from 4000 up (`-p 4000:80`, the classic)."""

from __future__ import annotations

import dataclasses
import socket

from dockui.engine.run import PortMapping

FIRST_SUGGESTION = 4000


def port_free(port: int, proto: str = "tcp", host: str = "0.0.0.0") -> bool:
    kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def suggest_host_ports(ports: list[PortMapping]) -> list[PortMapping]:
    """Fill in host ports the user has not chosen; never suggest one twice."""
    taken: set[tuple[int, str]] = {(p.host_port, p.proto) for p in ports if p.host_port}
    out: list[PortMapping] = []
    for mapping in ports:
        if mapping.host_port is not None:
            out.append(mapping)
            continue
        candidates = [mapping.container_port] if mapping.container_port >= 1024 else []
        candidates += range(FIRST_SUGGESTION, FIRST_SUGGESTION + 1000)
        for port in candidates:
            if (port, mapping.proto) not in taken and port_free(port, mapping.proto):
                taken.add((port, mapping.proto))
                out.append(dataclasses.replace(mapping, host_port=port))
                break
        else:
            out.append(mapping)
    return out
