"""Image audit, offline: secrets, runtime posture and a package inventory, computed from the
image's config, history and layer tars as the export streams past (the layer reader of
`dockui.engine.layers`, with a ContentReader that is handed the files worth reading).

What is read, and the caps (the report repeats them in `scanned`):

- Every tar header of every layer (modes for setuid/setgid and world-writable files,
  whiteouts for "deleted in a later layer but still shipped").
- Package databases, whole up to PACKAGE_DB_CAP: dpkg `var/lib/dpkg/status` and
  `status.d/*`, apk `lib/apk/db/installed`, rpm `rpmdb.sqlite` (BerkeleyDB and NDB rpm
  databases are named in the report, not read); Python `*.dist-info/METADATA` and
  `*.egg-info/PKG-INFO` (their first METADATA_CAP bytes: the headers are at the top).
- Files named like credentials (ssh keys, `.env`, `.aws/credentials`, docker/npm/pypi/git/
  netrc/kube/gcloud/azure credential files): their first TEXT_CAP bytes.
- Every other regular file of at most TEXT_CAP bytes that is not binary (no NUL in its first
  KB) and not under SKIPPED_PREFIXES: scanned for well-known token patterns and private
  key blocks; config files (by extension, outside /usr) also for `password=`/`secret=`.

Secrets are never kept: a finding holds the masked value only (`mask()`), and every text
the report shows that came from the image (instructions, paths) goes through a Redactor
that knows the raw values found, so they cannot leak through another field.

Nothing here imports Textual.
"""

from __future__ import annotations

import json
import posixpath
import re
import sqlite3
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO

from dockui.engine import layers as L
from dockui.engine.text import clean_field

# -- levels ---------------------------------------------------------------------------------
HIGH, MEDIUM, LOW, INFO = "high", "medium", "low", "info"
SEVERITIES = (HIGH, MEDIUM, LOW, INFO)
RANK = {HIGH: 3, MEDIUM: 2, LOW: 1, INFO: 0}
SECRET, POSTURE = "secret", "posture"

# -- caps -----------------------------------------------------------------------------------
TEXT_CAP = 256 * 1024  # bytes of a file read for token patterns / credential checks
PACKAGE_DB_CAP = 128 * 1024 * 1024  # dpkg/apk/rpm databases are read whole up to this
METADATA_CAP = 64 * 1024  # Python METADATA/PKG-INFO: the headers come first
BINARY_SNIFF = 1024  # a NUL in the first KB: binary, not scanned for tokens
MAX_FINDINGS_PER_RULE = 500  # world-writable trees can be huge: the rest is counted
SKIPPED_PREFIXES = (
    "/usr/share/doc/",
    "/usr/share/man/",
    "/usr/share/info/",
    "/usr/share/locale/",
    "/usr/share/i18n/",
    "/usr/share/zoneinfo/",
    "/usr/share/mime/",
    "/usr/share/terminfo/",
    "/proc/",
    "/sys/",
    "/dev/",
)

# Rules: id -> (category, default severity, what it means). Settings may ignore ids.
RULES: dict[str, tuple[str, str, str]] = {
    "secret.private-key": (SECRET, HIGH, "a private key (PEM / OpenSSH) in a file"),
    "secret.credentials-file": (SECRET, HIGH, "a cloud / registry / git credentials file"),
    "secret.token": (SECRET, HIGH, "a well-known token pattern (AWS, GitHub, Slack) in a file"),
    "secret.password": (SECRET, MEDIUM, "password= / secret= with a value in a config file"),
    "secret.env-file": (SECRET, MEDIUM, "a .env file shipped in the image"),
    "secret.keystore": (SECRET, MEDIUM, "a keystore file (.p12, .pfx, .jks)"),
    "secret.env": (SECRET, HIGH, "a secret in the image's ENV"),
    "secret.build-arg": (SECRET, HIGH, "a secret build ARG recorded in the history"),
    "secret.history": (SECRET, HIGH, "a token in a Dockerfile instruction"),
    "secret.label": (SECRET, HIGH, "a secret in a label"),
    "posture.root": (POSTURE, MEDIUM, "the container runs as root"),
    "posture.setuid": (POSTURE, MEDIUM, "a setuid file"),
    "posture.setgid": (POSTURE, LOW, "a setgid file"),
    "posture.world-writable": (POSTURE, MEDIUM, "a world-writable file or directory"),
    "posture.privileged-port": (POSTURE, LOW, "a privileged port (<1024) exposed"),
    "posture.shell-form": (POSTURE, LOW, "a shell-form ENTRYPOINT/CMD (signals not forwarded)"),
    "posture.no-healthcheck": (POSTURE, INFO, "no HEALTHCHECK"),
}


# -- masking --------------------------------------------------------------------------------
def mask(value: str) -> str:
    """`ghp_…(40 chars)`: a few leading characters (none for short values) and the length."""
    value = clean_field(value)
    n = len(value)
    shown = 4 if n >= 16 else 2 if n >= 10 else 0
    return f"{value[:shown]}…({n} chars)"


_PEM = re.compile(
    rb"-----BEGIN ((?:RSA |DSA |EC |OPENSSH |ENCRYPTED |PGP |SSH2 )?PRIVATE KEY(?: BLOCK)?)-----"
)
# name, marker (a fast `in` pre-check), pattern, what it is
# name, markers (a fast `in` pre-check: the regex runs only where one is present), pattern, what
_TOKENS: tuple[tuple[str, tuple[bytes, ...], re.Pattern[bytes], str], ...] = (
    ("aws", (b"AKIA", b"ASIA"),
     re.compile(rb"(?<![A-Z0-9])((?:AKIA|ASIA)[0-9A-Z]{16})(?![A-Z0-9])"), "AWS access key id"),
    ("github", (b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_"),
     re.compile(rb"(?<![A-Za-z0-9_])(gh[pousr]_[A-Za-z0-9]{36})(?![A-Za-z0-9])"), "GitHub token"),
    ("github-pat", (b"github_pat_",), re.compile(rb"(github_pat_[A-Za-z0-9_]{22,255})"),
     "GitHub fine-grained token"),
    ("slack", (b"xox",), re.compile(rb"(xox[abposr]-[A-Za-z0-9-]{10,})"), "Slack token"),
)  # fmt: skip
_TOKENS_TEXT = [(name, re.compile(p.pattern.decode()), what) for name, _, p, what in _TOKENS]

_SECRET_NAME = re.compile(
    r"(?i)(?:^|[_.-])(?:password|passwd|pass|pwd|secret|token|apikey|credentials?|auth)(?:$|[_.-])"
    r"|api[_-]?key|access[_-]?key|secret[_-]?key|private[_-]?key|client[_-]?secret|auth[_-]?token"
)
_NOT_SECRET_NAME = re.compile(
    r"(?i)[_.-](?:file|path|dir|url|uri|endpoint|host|port|user|username|name|type|length|"
    r"min|max|method|mode|enabled|header)$"
)
_PLACEHOLDERS = {
    "changeme", "change_me", "password", "secret", "xxx", "xxxx", "none", "null", "true", "false",
    "example", "placeholder", "your_password", "yourpassword", "todo", "undefined", "****",
}  # fmt: skip
_GENERIC = re.compile(
    rb"(?im)^[ \t]*[\"']?([A-Za-z0-9_.\-]*(?:password|passwd|secret|token|api_?key)"
    rb"[A-Za-z0-9_.\-]*)[\"']?[ \t]*[:=][ \t]*[\"']?([^\s\"'#;,]{4,})"
)
_CONFIG_EXT = (
    ".conf", ".cfg", ".ini", ".cnf", ".properties", ".yaml", ".yml", ".toml", ".json", ".xml",
    ".env", ".config",
)  # fmt: skip


def secret_name(name: str) -> bool:
    """Does a variable / label / arg name look like it holds a secret?"""
    return bool(_SECRET_NAME.search(name)) and not _NOT_SECRET_NAME.search(name)


def placeholder(value: str) -> bool:
    v = value.strip().strip("\"'")
    return (
        len(v) < 4
        or v.lower() in _PLACEHOLDERS
        or v.startswith(("$", "%(", "<", "{{", "${", "/run/secrets/"))
        or set(v) <= {"*", "x", "X", "-", "."}
    )


class Redactor:
    """Masks the raw secret values found so far (and any token pattern) in other text."""

    def __init__(self) -> None:
        self._raw: set[str] = set()

    def add(self, raw: str) -> str:
        raw = raw.strip()
        if len(raw) >= 4:
            self._raw.add(raw)
        return mask(raw)

    def __call__(self, text: str) -> str:
        text = clean_field(text)
        for raw in sorted(self._raw, key=len, reverse=True):
            if raw in text:
                text = text.replace(raw, mask(raw))
        for _, pattern, _ in _TOKENS_TEXT:
            text = pattern.sub(lambda m: mask(m.group(1)), text)
        return _ASSIGNMENT.sub(_mask_assignment, text)


_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_.\-]*)=(\"[^\"]*\"|'[^']*'|[^\s\"']+)")


def _mask_assignment(match: re.Match[str]) -> str:
    name, value = match.group(1), match.group(2)
    if secret_name(name) and "…(" not in value and not placeholder(value):
        return f"{name}={mask(value.strip(chr(34) + chr(39)))}"
    return match.group(0)


# -- the report -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    title: str  # one sentence, secrets masked
    path: str = ""  # the file, for findings in files
    layer: int | None = None  # the layer that added the file
    digest: str = ""  # that layer's digest, short
    instruction: str = ""  # the Dockerfile instruction that made it (redacted)
    value: str = ""  # the masked value
    fate: str = ""  # "deleted in layer 3 but still shipped in layer 2", "replaced in …"
    detail: str = ""

    @property
    def category(self) -> str:
        return RULES[self.rule][0] if self.rule in RULES else POSTURE

    @property
    def where(self) -> str:
        if self.path and self.layer is not None:
            return f"{self.path} (layer {self.layer})"
        return self.path or (f"layer {self.layer}" if self.layer is not None else "config")


@dataclass(frozen=True)
class Package:
    type: str  # deb, apk, rpm, pypi
    name: str
    version: str
    layer: int | None
    source: str  # the database file it was read from


@dataclass(frozen=True)
class LayerInfo:
    index: int
    digest: str
    instruction: str


@dataclass
class Scanned:
    """What the audit read, for the report (and how much)."""

    layers: int = 0
    headers: int = 0
    files_read: int = 0
    bytes_read: int = 0
    truncated: int = 0
    package_dbs: int = 0
    export_bytes: int = 0
    seconds: float = 0.0

    def caps(self) -> dict[str, int]:
        return {
            "text_file_bytes": TEXT_CAP,
            "package_db_bytes": PACKAGE_DB_CAP,
            "python_metadata_bytes": METADATA_CAP,
        }


@dataclass
class AuditReport:
    image: str
    image_id: str
    findings: list[Finding]
    packages: list[Package]
    layers: list[LayerInfo]
    scanned: Scanned
    notes: list[str] = field(default_factory=list)
    user: str = ""
    scanner: Any = None  # scanner.ScanResult, when one ran (or was looked for)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(SEVERITIES, 0)
        for finding in self.findings:
            out[finding.severity] = out.get(finding.severity, 0) + 1
        return out

    def secrets(self) -> list[Finding]:
        return [f for f in self.findings if f.category == SECRET]

    def failed(self, fail_on: str = HIGH) -> list[Finding]:
        """What makes `--ci` fail: any secret at medium or above, and any finding at or
        above `fail_on`."""
        limit = RANK[fail_on]
        return [
            f
            for f in self.findings
            if RANK[f.severity] >= limit or (f.category == SECRET and RANK[f.severity] >= 2)
        ]


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(
        findings,
        key=lambda f: (-RANK[f.severity], f.category != SECRET, f.rule, f.layer or 0, f.path),
    )


# -- package databases ----------------------------------------------------------------------
def parse_dpkg_status(text: str) -> list[tuple[str, str]]:
    """(name, version) of every installed package in a dpkg status file (or a distroless
    `status.d/` file: the same paragraphs)."""
    out = []
    for paragraph in re.split(r"\n[ \t]*\n", text):
        fields: dict[str, str] = {}
        for line in paragraph.splitlines():
            if not line or line[0] in " \t" or ":" not in line:
                continue
            key, _, value = line.partition(":")
            fields.setdefault(key.strip().lower(), value.strip())
        name, version = fields.get("package"), fields.get("version")
        if not name or not version:
            continue
        status = fields.get("status", "install ok installed").split()
        if status and status[-1] != "installed":
            continue  # config-files, half-installed, not-installed
        out.append((name, version))
    return out


def parse_apk_installed(text: str) -> list[tuple[str, str]]:
    out = []
    for record in re.split(r"\n[ \t]*\n", text):
        name = version = ""
        for line in record.splitlines():
            if line.startswith("P:"):
                name = line[2:].strip()
            elif line.startswith("V:"):
                version = line[2:].strip()
        if name and version:
            out.append((name, version))
    return out


def parse_python_metadata(text: str) -> tuple[str, str] | None:
    """Name and Version from a METADATA / PKG-INFO file (RFC 822 headers at the top)."""
    name = version = ""
    for line in text.splitlines():
        if not line.strip():
            break
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key == "name" and not name:
            name = value.strip()
        elif key == "version" and not version:
            version = value.strip()
    return (name, version) if name and version else None


_RPM_TAGS = {1000: "name", 1001: "version", 1002: "release", 1003: "epoch", 1022: "arch"}


def parse_rpm_header(blob: bytes) -> dict[str, Any]:
    """Name, version, release, epoch, arch from an rpm header blob (as rpmdb.sqlite stores
    it: index count, data length, 16-byte index entries, then the data store)."""
    if len(blob) < 8:
        return {}
    count, length = struct.unpack(">ii", blob[:8])
    if count < 0 or length < 0 or 8 + count * 16 + length > len(blob):
        return {}
    store = 8 + count * 16
    out: dict[str, Any] = {}
    for i in range(count):
        tag, kind, offset, n = struct.unpack(">iiii", blob[8 + i * 16 : 24 + i * 16])
        name = _RPM_TAGS.get(tag)
        if name is None or not 0 <= offset < length:
            continue
        at = store + offset
        if kind == 6:  # STRING
            end = blob.find(b"\0", at)
            out[name] = blob[at : end if end >= 0 else None].decode("utf-8", "replace")
        elif kind == 4 and n >= 1:  # INT32
            out[name] = struct.unpack(">i", blob[at : at + 4])[0]
    return out


def parse_rpmdb_sqlite(data: bytes) -> list[tuple[str, str]]:
    """(name, [epoch:]version-release) of every package in an rpmdb.sqlite, read in memory."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.deserialize(data)
        rows = conn.execute("SELECT blob FROM Packages").fetchall()
    except (sqlite3.Error, AttributeError) as exc:
        raise ValueError(f"unreadable rpm sqlite database: {exc}") from exc
    finally:
        conn.close()
    out = []
    for (blob,) in rows:
        header = parse_rpm_header(bytes(blob))
        name = header.get("name")
        if not name or name == "gpg-pubkey":
            continue
        version = f"{header.get('version', '')}-{header.get('release', '')}".strip("-")
        if header.get("epoch"):
            version = f"{header['epoch']}:{version}"
        out.append((name, version))
    return out


# -- what to read ---------------------------------------------------------------------------
_SSH_KEYS = {"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk"}
_CREDENTIAL_SUFFIXES = (
    "/.aws/credentials",
    "/.docker/config.json",
    "/.dockercfg",
    "/.npmrc",
    "/.pypirc",
    "/.git-credentials",
    "/.netrc",
    "/_netrc",
    "/.pgpass",
    "/.kube/config",
    "/.config/gcloud/application_default_credentials.json",
    "/.config/gcloud/credentials.db",
    "/.config/gcloud/access_tokens.db",
    "/.azure/accessTokens.json",
    "/.azure/msal_token_cache.json",
    "/.azure/msal_token_cache.bin",
    "/.azure/service_principal_entries.json",
)
_ENV_TEMPLATES = (".example", ".sample", ".template", ".dist", ".defaults")
_KEYSTORE_EXT = (".p12", ".pfx", ".jks", ".keystore")
_VENDORED = re.compile(r"/(?:tests?|testdata|test_data|fixtures|site-packages|node_modules)/")

DPKG, DPKG_D, APK, RPM_SQLITE, RPM_OLD, PYPI = "dpkg", "dpkg.d", "apk", "rpm", "rpm-old", "pypi"
CREDENTIALS, SSH_KEY, ENV_FILE, TEXT = "credentials", "ssh-key", "env-file", "text"


def classify(path: str) -> str | None:
    """Why a file would be read (a kind above), from its path alone; None: not read."""
    base = posixpath.basename(path)
    if path == "/var/lib/dpkg/status":
        return DPKG
    if path.startswith("/var/lib/dpkg/status.d/") and not base.endswith(".md5sums"):
        return DPKG_D
    if path == "/lib/apk/db/installed":
        return APK
    if base == "rpmdb.sqlite" and path.endswith(("/rpm/rpmdb.sqlite",)):
        return RPM_SQLITE
    if path in (
        "/var/lib/rpm/Packages",
        "/var/lib/rpm/Packages.db",
        "/usr/lib/sysimage/rpm/Packages",
    ):
        return RPM_OLD
    parent = posixpath.basename(posixpath.dirname(path))
    if (base == "METADATA" and parent.endswith(".dist-info")) or (
        base == "PKG-INFO" and parent.endswith(".egg-info")
    ):
        return PYPI
    if path.endswith(_CREDENTIAL_SUFFIXES):
        return CREDENTIALS
    if base in _SSH_KEYS:
        return SSH_KEY
    if (base == ".env" or base.startswith(".env.")) and not base.endswith(_ENV_TEMPLATES):
        return ENV_FILE
    return TEXT


@dataclass
class _Hit:
    """A finding in a file, before the layers are in order (keyed by the layer's source)."""

    rule: str
    severity: str
    title: str
    value: str = ""
    detail: str = ""


class _Collector:
    """The ContentReader the audit hands to the layer reader."""

    def __init__(self, redactor: Redactor) -> None:
        self.redact = redactor
        self.scanned = Scanned()
        self.hits: dict[tuple[str, str], list[_Hit]] = {}
        self.packages: dict[tuple[str, str], tuple[str, list[tuple[str, str]]]] = {}
        self.notes: dict[str, str] = {}
        self._kind: str | None = None

    def wants(self, entry: L.LayerEntry) -> int:
        path = entry.path
        kind = classify(path)
        self._kind = kind
        if kind is None or entry.size == 0:
            return 0
        if kind in (DPKG, DPKG_D, APK, RPM_SQLITE):
            if entry.size > PACKAGE_DB_CAP:
                self.notes[path] = (
                    f"{path} is {entry.size:,} bytes, over the "
                    f"{PACKAGE_DB_CAP:,}-byte cap: not read"
                )
                return 0
            return entry.size
        if kind == RPM_OLD:
            self.notes[path] = (
                f"{path}: a BerkeleyDB/NDB rpm database, which dockui does not read "
                "(rpm packages not listed; a scanner reads it)"
            )
            return 0
        if kind == PYPI:
            return min(entry.size, METADATA_CAP)
        if kind in (CREDENTIALS, SSH_KEY, ENV_FILE):
            return min(entry.size, TEXT_CAP)
        base = posixpath.basename(path)
        if base.endswith(_KEYSTORE_EXT) and not _VENDORED.search(path):
            # named by its path alone; take() files it under its layer
            self._note_hit("", path, _Hit("secret.keystore", MEDIUM, f"keystore file {base}"))
            return 1
        if entry.size > TEXT_CAP or path.startswith(SKIPPED_PREFIXES):
            return 0
        return entry.size

    def _note_hit(self, source: str, path: str, hit: _Hit) -> None:
        self.hits.setdefault((source, path), []).append(hit)

    def take(self, source: str, entry: L.LayerEntry, data: bytes, truncated: bool) -> None:
        path = entry.path
        kind = self._kind if self._kind is not None else classify(path)
        self.scanned.files_read += 1
        self.scanned.bytes_read += len(data)
        self.scanned.truncated += truncated
        pending = self.hits.pop(("", path), None)
        if pending:
            for hit in pending:
                self._note_hit(source, path, hit)
            return
        if kind in (DPKG, DPKG_D, APK, RPM_SQLITE, PYPI):
            text = data.decode("utf-8", "replace") if kind != RPM_SQLITE else ""
            self.scanned.package_dbs += kind != PYPI
            try:
                if kind == RPM_SQLITE:
                    found = parse_rpmdb_sqlite(data)
                elif kind == APK:
                    found = parse_apk_installed(text)
                elif kind == PYPI:
                    one = parse_python_metadata(text)
                    found = [one] if one else []
                else:
                    found = parse_dpkg_status(text)
            except ValueError as exc:
                self.notes[path] = f"{path}: {exc}"
                return
            ptype = {DPKG: "deb", DPKG_D: "deb", APK: "apk", RPM_SQLITE: "rpm", PYPI: "pypi"}[kind]
            self.packages[(source, path)] = (ptype, found)
            return
        if b"\0" in data[:BINARY_SNIFF]:
            if kind in (CREDENTIALS, SSH_KEY):
                self._file_hit(source, path, kind, data, force=True)
            return
        self._file_hit(source, path, kind, data)

    def _file_hit(
        self, source: str, path: str, kind: str | None, data: bytes, force: bool = False
    ) -> None:
        hits: list[_Hit] = []
        base = posixpath.basename(path)
        vendored = bool(_VENDORED.search(path))
        if b"PRIVATE KEY" in data:
            for match in _PEM.finditer(data):
                label = match.group(1).decode()
                end = data.find(b"-----END", match.end())
                body = data[match.end() : end if end > 0 else None].strip()
                value = self.redact.add(body.decode("ascii", "replace"))
                where = " (in a package's test data)" if vendored else ""
                hits.append(
                    _Hit(
                        "secret.private-key",
                        LOW if vendored else HIGH,
                        f"{label.lower()} in {base}{where}",
                        value=f"-----BEGIN {label}----- {value}",
                    )
                )
                break  # one finding per file; the key count is in the detail
            count = len(_PEM.findall(data))
            if hits and count > 1:
                hits[-1].detail = f"{count} private keys in this file"
        if kind == SSH_KEY and not hits:
            hits.append(_Hit("secret.private-key", HIGH, f"SSH key file {base}"))
        for _name, markers, pattern, what in _TOKENS:
            if not any(marker in data for marker in markers):
                continue
            seen: set[bytes] = set()
            for match in pattern.finditer(data):
                raw = match.group(1)
                if raw in seen:
                    continue
                seen.add(raw)
                value = self.redact.add(raw.decode("ascii", "replace"))
                hits.append(_Hit("secret.token", HIGH, f"{what} in {base}", value=value))
                if len(seen) >= 5:
                    break
        if kind == CREDENTIALS:
            hit = self._credentials(path, data)
            if hit is not None:
                hits.append(hit)
        elif kind == ENV_FILE:
            hits.append(_Hit("secret.env-file", MEDIUM, f"environment file {base} shipped"))
        if kind in (ENV_FILE,) or (
            base.endswith(_CONFIG_EXT)
            and not path.startswith("/usr/")
            and not vendored
            and kind == TEXT
        ):
            for match in _GENERIC.finditer(data):
                key = match.group(1).decode("utf-8", "replace")
                raw = match.group(2).decode("utf-8", "replace")
                if placeholder(raw) or any(h.value == mask(raw) for h in hits):
                    continue
                value = self.redact.add(raw)
                severity = HIGH if kind == ENV_FILE else MEDIUM
                hits.append(_Hit("secret.password", severity, f"{key} set in {base}", value=value))
                break
        if hits:
            for hit in hits:
                self._note_hit(source, path, hit)

    def _credentials(self, path: str, data: bytes) -> _Hit | None:
        base = posixpath.basename(path)
        text = data.decode("utf-8", "replace")
        what = f"credentials file {path.split('/', 3)[-1] if path.count('/') > 2 else base}"
        if path.endswith("/.docker/config.json") or base == ".dockercfg":
            try:
                doc = json.loads(text)
            except ValueError:
                return None
            auths = doc.get("auths", doc) if isinstance(doc, dict) else {}
            if not isinstance(auths, dict):
                return None
            for registry, entry in auths.items():
                if isinstance(entry, dict):
                    raw = (
                        entry.get("auth")
                        or entry.get("identitytoken")
                        or entry.get("registrytoken")
                    )
                    if raw:
                        return _Hit(
                            "secret.credentials-file",
                            HIGH,
                            f"registry login for {clean_field(str(registry))} in {base}",
                            value=self.redact.add(str(raw)),
                        )
            return None
        if base == ".npmrc":
            match = re.search(r"(?m)(?:_authToken|_auth|_password)\s*=\s*(\S+)", text)
        elif base in (".pypirc", ".netrc", "_netrc"):
            match = re.search(r"(?mi)^\s*password\s*[:=]?\s*(\S+)|\bpassword\s+(\S+)", text)
        elif base == "credentials" and "/.aws/" in path:
            match = re.search(r"(?mi)aws_secret_access_key\s*=\s*(\S+)", text)
        elif path.endswith("/.kube/config"):
            match = re.search(r"(?m)(?:token|client-key-data|password):\s*(\S+)", text)
        else:  # .git-credentials, .pgpass, gcloud, azure: any content is a credential
            stripped = text.strip()
            if not stripped:
                return None
            line = stripped.splitlines()[0]
            return _Hit("secret.credentials-file", HIGH, what, value=self.redact.add(line))
        if match is None:
            return None
        raw = next(g for g in match.groups() if g)
        if placeholder(raw):
            return None
        return _Hit("secret.credentials-file", HIGH, what, value=self.redact.add(raw))


# -- config and history ---------------------------------------------------------------------
def _history(config: dict[str, Any]) -> list[L.HistoryStep]:
    return list(L.history_steps(config))


_ARGS = re.compile(r"^(?:RUN\s+)?\|(\d+)\s+")


def _build_args(created_by: str) -> list[tuple[str, str]]:
    """`|2 A=1 TOKEN=x /bin/sh -c …` (the legacy builder and BuildKit record build args used
    by a RUN this way) and BuildKit's `ARG NAME=default`."""
    text = created_by.strip()
    match = _ARGS.match(text)
    if match:
        words = text[match.end() :].split(" ")
        pairs = []
        for word in words[: int(match.group(1))]:
            name, sep, value = word.partition("=")
            if sep:
                pairs.append((name, value))
        return pairs
    if text.startswith("ARG "):
        pairs = []
        for word in text[4:].split():
            name, sep, value = word.partition("=")
            if sep:
                pairs.append((name, value))
        return pairs
    return []


def _config_findings(
    config: dict[str, Any], redact: Redactor, steps: list[L.HistoryStep]
) -> list[Finding]:
    out: list[Finding] = []
    cfg = config.get("config") or {}

    def step_for(predicate: Callable[[str], bool]) -> str:
        for step in reversed(steps):
            if predicate(step.created_by):
                return step.instruction
        return ""

    for item in cfg.get("Env") or ():
        name, _, value = str(item).partition("=")
        hit = _value_secret(name, value)
        if hit is None:
            continue
        what, raw = hit
        masked = redact.add(raw)
        made_by = step_for(
            lambda text, n=name: "ENV" in text and (f"{n}=" in text or f"ENV {n} " in text)
        )
        out.append(
            Finding(
                "secret.env",
                HIGH,
                f"{what} in ENV {clean_field(name)}",
                value=masked,
                instruction=made_by,
            )
        )
    for name, value in (cfg.get("Labels") or {}).items():
        hit = _value_secret(str(name), str(value))
        if hit is None:
            continue
        what, raw = hit
        out.append(
            Finding(
                "secret.label",
                HIGH,
                f"{what} in label {clean_field(str(name))}",
                value=redact.add(raw),
                instruction=step_for(lambda text, n=str(name): "LABEL" in text and n in text),
            )
        )
    args: dict[tuple[str, str], list[int]] = {}
    arg_what: dict[tuple[str, str], tuple[str, str]] = {}
    for index, step in enumerate(steps):
        found: set[str] = set()
        for name, value in _build_args(step.created_by):
            hit = _value_secret(name, value)
            if hit is None:
                continue
            what, raw = hit
            found.add(raw)
            args.setdefault((name, raw), []).append(index)
            arg_what.setdefault((name, raw), (what, step.instruction))
        for _, pattern, what in _TOKENS_TEXT:
            for match in pattern.finditer(step.created_by):
                raw = match.group(1)
                if raw in found or any(raw in f for f in found):
                    continue
                found.add(raw)
                out.append(
                    Finding(
                        "secret.history",
                        HIGH,
                        f"{what} in history step {index}",
                        value=redact.add(raw),
                        instruction=step.instruction,
                    )
                )
    for (name, raw), indexes in args.items():
        what, instruction = arg_what[(name, raw)]
        where = f"step {indexes[0]}" if len(indexes) == 1 else f"steps {_ranges(indexes)}"
        out.append(
            Finding(
                "secret.build-arg",
                HIGH,
                f"build ARG {clean_field(name)} recorded in history {where}",
                value=redact.add(raw),
                instruction=instruction,
                detail=f"{what}; anyone with the image can read it in `docker history`",
            )
        )
    return out


def _ranges(numbers: list[int]) -> str:
    """[3, 4, 5, 8] -> "3-5, 8"."""
    parts: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(parts)


def _value_secret(name: str, value: str) -> tuple[str, str] | None:
    """(what, raw value) if a name=value pair carries a secret."""
    for _, pattern, what in _TOKENS_TEXT:
        match = pattern.search(value)
        if match:
            return what, match.group(1)
    if b"PRIVATE KEY" in value.encode("utf-8", "replace"):
        return "a private key", value
    if secret_name(name) and value.strip() and not placeholder(value):
        return "a secret value", value
    return None


def _posture(config: dict[str, Any]) -> tuple[list[Finding], str]:
    out: list[Finding] = []
    cfg = config.get("config") or {}
    user = str(cfg.get("User") or "").strip()
    name = user.partition(":")[0]
    if name in ("", "root", "0"):
        why = "no USER instruction" if not user else f"USER {clean_field(user)}"
        out.append(Finding("posture.root", MEDIUM, f"runs as root ({why})"))
    for port in sorted(cfg.get("ExposedPorts") or {}):
        number = str(port).split("/")[0]
        if number.isdigit() and int(number) < 1024:
            out.append(
                Finding(
                    "posture.privileged-port",
                    LOW,
                    f"exposes privileged port {clean_field(str(port))}",
                    detail="binding it needs root or CAP_NET_BIND_SERVICE",
                )
            )
    entrypoint = list(cfg.get("Entrypoint") or [])
    cmd = list(cfg.get("Cmd") or [])
    shells = (["/bin/sh", "-c"], ["sh", "-c"], ["/bin/bash", "-c"], ["bash", "-c"])
    form = entrypoint if entrypoint else cmd
    which = "ENTRYPOINT" if entrypoint else "CMD"
    if form[:2] in shells:
        out.append(
            Finding(
                "posture.shell-form",
                LOW,
                f"shell-form {which}: the process runs under /bin/sh -c",
                detail="signals (docker stop) go to the shell, not the program: use the "
                'exec form ["prog", "arg"]',
            )
        )
    health = cfg.get("Healthcheck") or {}
    if not health or (health.get("Test") or [""])[0] == "NONE":
        out.append(Finding("posture.no-healthcheck", INFO, "no HEALTHCHECK defined"))
    return out, user or "root (default)"


# -- putting it together --------------------------------------------------------------------
def _short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]


@dataclass
class _Fate:
    live: dict[str, int]  # path -> the layer whose copy is in the final filesystem
    gone: dict[tuple[int, str], str]  # (layer, path) -> "deleted in layer N" / "replaced …"


def _replay(export: L.ImageExport, interesting: set[str]) -> tuple[_Fate, L._Filesystem]:
    """Apply the layers in order: the final filesystem, which layer each live path came
    from, and what became of the earlier copies of the interesting paths."""
    fs = L._Filesystem()
    origin: dict[str, int] = {}
    gone: dict[tuple[int, str], str] = {}
    for index, layer in enumerate(export.layers):
        changes, _ = L._apply(fs, layer.entries)
        for path, item in changes.items():
            if item.entry.implicit:
                continue
            before = origin.get(path)
            if item.mark == L.REMOVED:
                origin.pop(path, None)
                if before is not None and path in interesting:
                    gone[(before, path)] = f"deleted in layer {index}"
                continue
            if before is not None and path in interesting and before != index:
                gone[(before, path)] = f"replaced in layer {index}"
            origin[path] = index
    live = {path: origin[path] for path in fs.entries if path in origin}
    return _Fate(live, gone), fs


def audit_export(
    export: L.ImageExport,
    collector: _Collector,
    *,
    image: str = "",
    image_id: str = "",
) -> AuditReport:
    """Findings, inventory and posture from a parsed export and what the collector saw."""
    redact = collector.redact
    config = export.config
    steps = _history(config)
    histories = L.history_for_layers(config, len(export.layers))
    sources: dict[str, list[int]] = {}
    layers: list[LayerInfo] = []
    for index, layer in enumerate(export.layers):
        sources.setdefault(layer.source, []).append(index)
    findings = _config_findings(config, redact, steps)  # first: it learns the raw values
    for index in range(len(export.layers)):
        digest = export.digests[index] or export.diff_ids[index]
        step = histories[index]
        layers.append(LayerInfo(index, _short(digest), redact(step.instruction) if step else ""))
    interesting = {path for _, path in collector.hits} | {p for _, p in collector.packages}
    fate, fs = _replay(export, interesting)
    for (source, path), hits in collector.hits.items():
        for index in sources.get(source, [])[:1]:
            info = layers[index]
            gone = fate.gone.get((index, path), "")
            if gone:
                keep = (
                    "still shipped"
                    if gone.startswith("deleted")
                    else "the old copy is still shipped"
                )
                gone = f"{gone}, but {keep} in layer {index}"
            for hit in hits:
                findings.append(
                    Finding(
                        hit.rule,
                        hit.severity,
                        redact(hit.title),
                        path=redact(path),
                        layer=index,
                        digest=info.digest,
                        instruction=info.instruction,
                        value=hit.value,
                        fate=gone,
                        detail=hit.detail,
                    )
                )
    # setuid / setgid / world-writable: the final filesystem
    counted: dict[str, int] = {}
    for path in sorted(fs.entries):
        entry = fs.entries[path]
        if entry.implicit or entry.kind not in (L.FILE, L.DIR):
            continue
        rules = []
        if entry.kind == L.FILE and entry.mode & 0o4000:
            rules.append(
                ("posture.setuid", MEDIUM, f"setuid{' root' if entry.uid == 0 else ''} file")
            )
        if entry.kind == L.FILE and entry.mode & 0o2000:
            rules.append(("posture.setgid", LOW, "setgid file"))
        if (
            entry.mode & 0o002
            and not (entry.kind == L.DIR and entry.mode & 0o1000)
            and not _under(path, ("/tmp", "/var/tmp", "/dev/shm", "/run/lock"))
        ):
            kind = "directory" if entry.kind == L.DIR else "file"
            rules.append(("posture.world-writable", MEDIUM, f"world-writable {kind}"))
        for rule, severity, title in rules:
            counted[rule] = counted.get(rule, 0) + 1
            if counted[rule] > MAX_FINDINGS_PER_RULE:
                continue
            index = fate.live.get(path)
            info = layers[index] if index is not None else None
            findings.append(
                Finding(
                    rule,
                    severity,
                    f"{title} {redact(path)} (mode {entry.mode & 0o7777:04o})",
                    path=redact(path),
                    layer=index,
                    digest=info.digest if info else "",
                    instruction=info.instruction if info else "",
                )
            )
    notes = list(collector.notes.values())
    for rule, count in counted.items():
        if count > MAX_FINDINGS_PER_RULE:
            notes.append(f"{rule}: {count:,} paths, the first {MAX_FINDINGS_PER_RULE} listed")
    posture, user = _posture(config)
    findings += posture
    findings = [
        replace(f, instruction=redact(f.instruction)) if f.instruction else f for f in findings
    ]
    # inventory: the final filesystem's package databases
    packages: list[Package] = []
    for (source, path), (ptype, found) in collector.packages.items():
        index = next((i for i in sources.get(source, []) if fate.live.get(path) == i), None)
        if index is None:
            continue  # replaced by a later layer's copy, or deleted
        for name, version in found:
            packages.append(
                Package(ptype, clean_field(name), clean_field(version), index, redact(path))
            )
    packages.sort(key=lambda p: (p.type, p.name.lower(), p.version))
    scanned = collector.scanned
    scanned.layers = len(export.layers)
    scanned.headers = sum(len(layer.entries) for layer in export.layers)
    scanned.export_bytes = export.size
    return AuditReport(
        image=clean_field(image),
        image_id=image_id,
        findings=sort_findings(findings),
        packages=packages,
        layers=layers,
        scanned=scanned,
        notes=notes,
        user=clean_field(user),
    )


def _under(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == root or path.startswith(root + "/") for root in roots)


def audit_image_stream(
    source: Iterable[bytes] | BinaryIO,
    *,
    image: str = "",
    image_id: str = "",
    progress: Callable[[int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> AuditReport:
    """Read an export (chunks from `APIClient.get_image(name)`, or a file) and audit it.
    Blocking: run it in a worker thread. Raises layers.LayerAnalysisError (and
    AnalysisCancelled) like the layer analysis."""
    import time

    started = time.monotonic()
    collector = _Collector(Redactor())
    export = L.read_image_export(
        source, progress=progress, cancel=cancel, hash_contents=False, contents=collector
    )
    if cancel is not None and cancel():
        raise L.AnalysisCancelled("audit cancelled")
    report = audit_export(export, collector, image=image, image_id=image_id)
    report.scanned.seconds = time.monotonic() - started
    return report


# -- JSON -----------------------------------------------------------------------------------
def to_json(report: AuditReport, fail_on: str = HIGH) -> dict[str, Any]:
    scanner = report.scanner
    return {
        "image": report.image,
        "id": report.image_id,
        "user": report.user,
        "summary": {
            "counts": report.counts(),
            "secrets": len(report.secrets()),
            "packages": len(report.packages),
            "fail_on": fail_on,
            "failed": len(report.failed(fail_on)),
        },
        "findings": [
            {
                "rule": f.rule,
                "category": f.category,
                "severity": f.severity,
                "title": f.title,
                "path": f.path or None,
                "layer": f.layer,
                "layer_digest": f.digest or None,
                "instruction": f.instruction or None,
                "value": f.value or None,
                "fate": f.fate or None,
                "detail": f.detail or None,
            }
            for f in report.findings
        ],
        "packages": [
            {
                "type": p.type,
                "name": p.name,
                "version": p.version,
                "layer": p.layer,
                "source": p.source,
            }
            for p in report.packages
        ],
        "layers": [
            {"index": x.index, "digest": x.digest, "instruction": x.instruction}
            for x in report.layers
        ],
        "scanned": {
            "layers": report.scanned.layers,
            "headers": report.scanned.headers,
            "files_read": report.scanned.files_read,
            "bytes_read": report.scanned.bytes_read,
            "files_truncated": report.scanned.truncated,
            "package_databases": report.scanned.package_dbs,
            "export_bytes": report.scanned.export_bytes,
            "seconds": round(report.scanned.seconds, 3),
            "caps": report.scanned.caps(),
            "skipped_prefixes": list(SKIPPED_PREFIXES),
        },
        "notes": report.notes,
        "scanner": scanner.to_json() if scanner is not None else None,
    }
