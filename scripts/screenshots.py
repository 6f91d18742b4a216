#!/usr/bin/env python3
"""Make the screenshots in screenshots/ from a real run of dockui on a real engine.

    python scripts/screenshots.py            # from the repo root

What it does:
1. Builds three small demo images FROM the offline base image (dockui-test/busybox,
   made by scripts/dev-engine.sh) and runs a handful of containers from them: a web
   server with a published port and a health check, a worker that logs to stdout and
   stderr, a migration that failed, and a backup job that was created but never started.
   Every object is labelled `dockui.demo=1` and removed again at the end, even on failure.
2. Drives the real app with Textual's Pilot and saves SVG screenshots: the four panes at
   120x40 and 80x24, the help screen, the `/` filter, and the engine-unreachable screen.
3. Converts each SVG to PNG with the best converter it finds: headless Chromium (exact;
   `apt-get install chromium fonts-firacode`), else rsvg-convert (librsvg2-bin), else
   cairosvg. With none, the SVGs are still written and the script says so.

Nothing is pulled from a registry. Options: --keep leaves the demo objects running
(remove them later with --cleanup-only); --no-png skips the conversion; --scale 2
makes sharper PNGs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, NotFound
from docker.types import Healthcheck

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "screenshots"
BASE_IMAGE = "dockui-test/busybox:latest"
LABEL = {"dockui.demo": "1"}
NANO = 1_000_000_000


def say(msg: str) -> None:
    print(f"screenshots: {msg}", flush=True)


# -- demo objects -------------------------------------------------------------------------

WEB_DOCKERFILE = """\
FROM dockui-test/busybox:latest
ENV APP_ENV=production \\
    PORT=80
WORKDIR /srv/www
RUN mkdir -p assets \\
 && dd if=/dev/urandom of=assets/app.bundle.js bs=1024 count=3072 2>/dev/null \\
 && dd if=/dev/urandom of=assets/vendor.bundle.js bs=1024 count=1536 2>/dev/null
COPY index.html robots.txt ./
RUN echo ok > healthz
EXPOSE 80
LABEL org.opencontainers.image.title="shop-web" dockui.demo="1"
CMD ["httpd", "-f", "-p", "80", "-h", "/srv/www"]
"""

WEB_FILES = {
    "index.html": "<!doctype html><title>shop</title><h1>Welcome to the shop</h1>\n",
    "robots.txt": "User-agent: *\nDisallow: /api/\n",
}

WORKER_DOCKERFILE = """\
FROM dockui-test/busybox:latest
ENV QUEUE_URL=redis://cache:6379/0 \\
    CONCURRENCY=4
WORKDIR /app
RUN mkdir -p /var/cache/shop \\
 && dd if=/dev/urandom of=/var/cache/shop/templates.pack bs=1024 count=2048 2>/dev/null
COPY worker.sh /app/worker.sh
RUN chmod +x /app/worker.sh
LABEL org.opencontainers.image.title="shop-worker" dockui.demo="1"
CMD ["/app/worker.sh"]
"""

# Realistic-looking log traffic: access lines on stdout, warnings and errors on stderr.
WORKER_SH = r"""#!/bin/sh
echo "$(date -u +%FT%TZ) INFO  worker 2.0 starting: queue=$QUEUE_URL concurrency=$CONCURRENCY"
echo "$(date -u +%FT%TZ) INFO  connected to queue, 4 consumers ready"
i=0
while true; do
  i=$((i + 1))
  ts=$(date -u +%FT%TZ)
  ms=$((RANDOM % 90 + 4))
  case $((i % 13)) in
    4) echo "$ts WARN  payment gateway slow: ${ms}0ms for order #$((48100 + i))" >&2 ;;
    9) echo "$ts ERROR job send-receipt #$((48100 + i)) failed: SMTP timeout, retry 1/5" >&2 ;;
    1) echo "$ts INFO  POST /api/orders 201 ${ms}ms" ;;
    2) echo "$ts INFO  GET /api/orders?page=2 200 ${ms}ms" ;;
    5) echo "$ts INFO  job charge-card #$((48100 + i)) done in ${ms}ms" ;;
    6) echo "$ts INFO  GET /api/products/$((RANDOM % 900 + 100)) 200 ${ms}ms" ;;
    8) echo "$ts INFO  GET /api/cart 304 ${ms}ms" ;;
    11) echo "$ts INFO  DELETE /api/cart/items/$((RANDOM % 50)) 204 ${ms}ms" ;;
    *) echo "$ts INFO  GET /api/orders 200 ${ms}ms" ;;
  esac
  sleep 0.3
done
"""

MIGRATE_DOCKERFILE = """\
FROM dockui-test/busybox:latest
ENV DATABASE_URL=postgres://shop@db:5432/shop
ARG DB_PASSWORD=demo-not-a-real-password
WORKDIR /migrations
COPY .env 0041_add_carts.sql 0042_add_invoices.sql ./
RUN echo "migrations for $DB_PASSWORD" > /dev/null && rm .env
RUN dd if=/dev/urandom of=/migrations/seed.dump bs=1024 count=1024 2>/dev/null
LABEL org.opencontainers.image.title="shop-migrate" dockui.demo="1"
CMD ["sh", "-c", "ls /migrations/*.sql"]
"""

MIGRATE_FILES = {
    # A mistake the audit screenshot shows: a credentials file deleted in a later layer
    # is still shipped in the layer that copied it (AWS's documented example key).
    ".env": "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\nDB_PASSWORD=demo-not-a-real-password\n",
    "0041_add_carts.sql": "CREATE TABLE carts (id serial primary key);\n",
    "0042_add_invoices.sql": "CREATE TABLE invoices (id serial primary key);\n",
}

MIGRATE_CMD = [
    "sh",
    "-c",
    'echo "applying 0041_add_carts.sql ... ok"; '
    'echo "applying 0042_add_invoices.sql ..."; '
    'echo "ERROR: relation \\"invoices\\" already exists (SQLSTATE 42P07)" >&2; '
    'echo "migration failed, rolled back" >&2; exit 1',
]


class Demo:
    """The demo objects on the engine; `cleanup` removes every one of them."""

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client
        self.containers: dict[str, str] = {}  # name -> id
        self.images: dict[str, str] = {}  # tag -> id
        self.port = 0
        self.base_ids: list[str] = []

    # building ----------------------------------------------------------------------------
    def build(self, tag: str, dockerfile: str, files: dict[str, str], extra_tags=()) -> str:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for name, text in {"Dockerfile": dockerfile, **files}.items():
                data = text.encode()
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = len(data), 0o755, int(time.time())
                tar.addfile(info, io.BytesIO(data))
        buf.seek(0)
        image, _ = self.client.images.build(
            fileobj=buf, custom_context=True, tag=tag, rm=True, forcerm=True
        )
        for extra in extra_tags:
            image.tag(*extra.rsplit(":", 1))
        self.images[tag] = image.id
        say(f"built {tag} ({image.short_id})")
        return image.id

    def run(self, name: str, image: str, *, start: bool = True, **kwargs: Any) -> str:
        container = self.client.containers.create(image, name=name, labels=LABEL, **kwargs)
        self.containers[name] = container.id
        if start:
            container.start()
        return container.id

    def setup(self) -> None:
        try:
            self.base_ids = [self.client.images.get(BASE_IMAGE).id]
        except NotFound:
            sys.exit(f"screenshots: {BASE_IMAGE} is missing; run scripts/dev-engine.sh first")
        # An older build that the rebuild below takes the tag from: a dangling image.
        old = WORKER_SH.replace("worker 2.0", "worker 2.0-rc1")
        self.images["<dangling>"] = self.build(
            "shop/worker:2.0", WORKER_DOCKERFILE, {"worker.sh": old}
        )
        self.build("shop/worker:2.0", WORKER_DOCKERFILE, {"worker.sh": WORKER_SH})
        self.build("shop/web:1.4", WEB_DOCKERFILE, WEB_FILES, extra_tags=["shop/web:latest"])
        self.build("shop/migrate:0.42", MIGRATE_DOCKERFILE, MIGRATE_FILES)

        self.port = free_port([8080, 8081, 8088, 8000, 8888])
        self.run(
            "shop-web",
            "shop/web:1.4",
            ports={"80/tcp": self.port},
            healthcheck=Healthcheck(
                test=["CMD-SHELL", "wget -q -O /dev/null http://localhost:80/ || exit 1"],
                interval=2 * NANO,
                timeout=2 * NANO,
                retries=3,
            ),
        )
        self.run("shop-worker", "shop/worker:2.0")
        migrate = self.run("shop-migrate", "shop/migrate:0.42", command=MIGRATE_CMD)
        self.client.containers.get(migrate).wait(timeout=30)
        self.run(
            "shop-backup",
            "shop/worker:2.0",
            start=False,
            command=["sh", "-c", "tar czf /backup/orders.tgz /var/lib/shop"],
        )
        say(f"started {', '.join(self.containers)} (shop-web on port {self.port})")

    # removing ----------------------------------------------------------------------------
    def cleanup(self) -> None:
        sweep(self.client, set(self.containers.values()), set(self.images.values()))


def sweep(client: docker.DockerClient, container_ids=(), image_ids=()) -> None:
    """Remove the given objects and anything else labelled dockui.demo=1: containers first."""
    label = "dockui.demo=1"
    cids = set(container_ids)
    with contextlib.suppress(APIError):
        cids |= {c.id for c in client.containers.list(all=True, filters={"label": label})}
    for cid in cids:
        try:
            client.containers.get(cid).remove(force=True)
        except NotFound:
            pass
        except APIError as exc:
            say(f"could not remove container {cid[:12]}: {exc.explanation or exc}")
    iids = set(image_ids)
    with contextlib.suppress(APIError):
        iids |= {i.id for i in client.images.list(filters={"label": label})}
    # A parent goes only after its children: retry what the engine refused, a few rounds.
    left, errors = set(iids), {}
    for _ in range(4):
        for iid in sorted(left):
            try:
                client.images.remove(iid, force=True)
            except NotFound:
                pass
            except APIError as exc:
                errors[iid] = exc.explanation or str(exc)
                continue
            left.discard(iid)
            errors.pop(iid, None)
        if not left:
            break
    for iid, error in errors.items():
        say(f"could not remove image {iid[7:19]}: {error}")
    if cids or iids:
        say(f"removed {len(cids)} demo containers and {len(iids) - len(left)} demo images")


def free_port(candidates: list[int]) -> int:
    for port in candidates:
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return s.getsockname()[1]


# -- driving the app ----------------------------------------------------------------------


async def wait_until(pilot: Any, cond: Callable[[], bool], what: str, timeout: float) -> bool:
    """Poll `cond` while the app runs; False (and a note) when it never came true."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            say(f"warning: gave up waiting for {what} after {timeout:.0f} s")
            return False
        await pilot.pause(0.1)
    return True


async def populated(app: Any, pilot: Any, demo: Demo, lines: int = 25) -> None:
    """Wait until the panes show the demo: containers, images, worker logs, web layers."""
    started = time.monotonic()
    tick = float(getattr(sys.modules[type(app).__module__], "TICK_EVERY", 15.0))
    containers, images = app.containers_pane.table, app.images_pane.table
    await wait_until(
        pilot,
        lambda: (
            app.connected
            and set(demo.containers.values()) <= set(containers.objects)
            and set(demo.images.values()) <= set(images.objects)
        ),
        "the demo containers and images to be listed",
        30,
    )
    # Other tools (the test suite) may be using this engine too: wait for a quiet moment
    # so the shots show only the demo and the base image it was built from.
    ours_c = set(demo.containers.values())
    ours_i = set(demo.images.values()) | set(demo.base_ids)
    await wait_until(
        pilot,
        lambda: set(containers.objects) <= ours_c and set(images.objects) <= ours_i,
        "other containers and images on the engine to go away",
        60,
    )
    web, worker = demo.containers["shop-web"], demo.containers["shop-worker"]
    await wait_until(
        pilot,
        lambda: getattr(app.containers.get(web), "health", None) == "healthy",
        "shop-web to turn healthy",
        30,
    )
    containers.select_key(worker)
    images.select_key(demo.images["shop/web:1.4"])
    await wait_until(
        pilot,
        lambda: app.logs_pane.container_id == worker and len(app.logs_pane.view.rows) >= lines,
        "the worker's log lines",
        20,
    )
    await wait_until(
        pilot,
        lambda: (
            app.layers_pane.table.row_count > 0 and "shop/web" in str(app.layers_pane.border_title)
        ),
        "the layers of shop/web:1.4",
        20,
    )
    # Uptimes and ages are re-rendered on the app's slow tick: wait for one, so the
    # shot shows current values rather than those of the first listing.
    await wait_until(
        pilot, lambda: time.monotonic() - started > tick + 1, "the uptime tick", tick + 5
    )
    await pilot.pause(0.5)  # let the last batches land and the cursor timers fire


def save(app: Any, name: str) -> Path:
    path = Path(app.save_screenshot(filename=name, path=str(OUT)))
    say(f"wrote {path.relative_to(ROOT)}")
    return path


async def shoot_main(demo: Demo) -> list[Path]:
    from dockui.app import DockuiApp

    shots = []
    app = DockuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await populated(app, pilot, demo)
        shots.append(save(app, "dockui-120x40.svg"))

        await pilot.press("question_mark")
        await pilot.pause(0.3)
        shots.append(save(app, "help.svg"))
        await pilot.press("escape")
        await pilot.pause(0.2)

        app.containers_pane.focus()
        await pilot.press("slash", *"worker")  # matches a name and an image: 2 of 4
        worker = demo.containers["shop-worker"]
        await wait_until(
            pilot,
            lambda: app.containers_pane.table.visible_count == 2,
            "the filter to apply",
            10,
        )
        app.containers_pane.table.select_key(worker)
        await wait_until(
            pilot,
            lambda: app.logs_pane.container_id == worker and len(app.logs_pane.view.rows) >= 25,
            "the worker's logs under the filter",
            10,
        )
        await pilot.pause(0.5)
        shots.append(save(app, "filter.svg"))
        await pilot.press("escape")

        # The layer analysis of shop/web:1.4: layers, file tree, wasted space.
        from dockui.screens.layers import LayerScreen

        app.images_pane.table.focus()
        app.images_pane.table.select_key(demo.images["shop/web:1.4"])
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, LayerScreen) and app.screen.analysis is not None,
            "the layer analysis",
            60,
        )
        layer_screen = app.screen
        last = len(layer_screen.analysis.layers) - 1
        layer_screen.layer_table.move_cursor(row=max(0, last - 2))
        await pilot.pause(0.8)
        shots.append(save(app, "layers.svg"))
        await pilot.press("escape")
        await pilot.pause(0.3)

        # Inspect shop-web: the overview tab.
        app.containers_pane.table.focus()
        app.containers_pane.table.select_key(demo.containers["shop-web"])
        await pilot.press("i")
        await wait_until(
            pilot,
            lambda: type(app.screen).__name__ == "InspectScreen",
            "the inspect screen",
            20,
        )
        await pilot.pause(1.5)
        shots.append(save(app, "inspect.svg"))
        await pilot.press("escape")
        await pilot.pause(0.3)

        # The audit of shop/migrate:0.42: a deleted .env still shipped, a build ARG, root.
        app.images_pane.table.focus()
        app.images_pane.table.select_key(demo.images["shop/migrate:0.42"])
        await pilot.press("a")
        await wait_until(
            pilot,
            lambda: (
                type(app.screen).__name__ == "AuditScreen"
                and getattr(app.screen, "report", None) is not None
            ),
            "the audit",
            60,
        )
        await pilot.pause(1.0)
        shots.append(save(app, "audit.svg"))
        await pilot.press("escape")

    app = DockuiApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await populated(app, pilot, demo, lines=12)
        shots.append(save(app, "dockui-80x24.svg"))
    return shots


def attempt(text: str) -> int:
    """The retry attempt the engine-down screen shows (the first ones retry in < 1 s)."""
    match = re.search(r"attempt (\d+)", text)
    return int(match.group(1)) if match else 0


async def shoot_engine_down() -> Path:
    from dockui.app import DockuiApp
    from dockui.screens.engine_down import EngineDownScreen

    app = DockuiApp(host="unix:///nonexistent/docker.sock")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(
            pilot,
            lambda: (
                isinstance(app.screen, EngineDownScreen)
                and attempt(str(app.screen.body.content)) >= 3
            ),
            "the engine-down screen's third attempt",
            20,
        )
        await pilot.pause(0.3)
        return save(app, "engine-down.svg")


# -- SVG -> PNG ---------------------------------------------------------------------------

FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}")


def local_fonts(svg: str) -> str:
    """Textual's SVG loads Fira Code from a CDN; nothing is fetched here, so use the local one."""
    return FONT_FACE.sub("", svg)


def svg_size(svg: str) -> tuple[int, int]:
    match = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg)
    if not match:
        return 1200, 800
    return int(float(match.group(1)) + 0.999), int(float(match.group(2)) + 0.999)


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def to_png_chromium(svg_path: Path, png_path: Path, scale: float) -> None:
    binary = chromium_binary()
    assert binary
    svg = local_fonts(svg_path.read_text(encoding="utf-8"))
    width, height = svg_size(svg)
    with tempfile.TemporaryDirectory(prefix="dockui-shot-") as tmp:
        page = Path(tmp) / "shot.html"
        page.write_text(
            '<!doctype html><html><head><meta charset="utf-8"><style>html,body{margin:0;padding:0;'
            "background:#000;overflow:hidden}svg{display:block;"
            f"width:{width}px;height:{height}px}}</style></head><body>{svg}</body></html>",
            encoding="utf-8",
        )
        cmd = [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={tmp}/profile",
            f"--force-device-scale-factor={scale}",
            f"--window-size={width},{height}",
            f"--screenshot={png_path}",
            page.as_uri(),
        ]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    if not png_path.exists():
        raise RuntimeError("chromium wrote no PNG")


def to_png_rsvg(svg_path: Path, png_path: Path, scale: float) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".svg") as tmp:
        tmp.write(local_fonts(svg_path.read_text()))
        tmp.flush()
        subprocess.run(
            ["rsvg-convert", "-z", str(scale), "-o", str(png_path), tmp.name],
            check=True,
            capture_output=True,
            timeout=120,
        )


def to_png_cairosvg(svg_path: Path, png_path: Path, scale: float) -> None:
    import cairosvg  # type: ignore[import-not-found]

    cairosvg.svg2png(
        bytestring=local_fonts(svg_path.read_text()).encode(),
        write_to=str(png_path),
        scale=scale,
    )


def converters() -> list[tuple[str, Callable[[Path, Path, float], None]]]:
    """The converters found here, best first.

    Chromium renders Textual's SVG exactly. librsvg and cairo collapse runs of spaces in
    the SVG's text, which shifts columns by a cell here and there: a fallback only.
    """
    found: list[tuple[str, Callable[[Path, Path, float], None]]] = []
    if chromium_binary():
        found.append(("headless Chromium", to_png_chromium))
    if shutil.which("rsvg-convert"):
        found.append(("rsvg-convert (spacing may be off)", to_png_rsvg))
    try:
        import cairosvg  # type: ignore[import-not-found]  # noqa: F401
    except Exception:
        pass
    else:
        found.append(("cairosvg (spacing may be off)", to_png_cairosvg))
    return found


def convert(svgs: list[Path], scale: float) -> None:
    available = converters()
    if not available:
        say(
            "no SVG converter found (chromium, rsvg-convert or cairosvg): wrote the SVGs only. "
            "`apt-get install chromium fonts-firacode` makes the PNGs too."
        )
        return
    for svg in svgs:
        png = svg.with_suffix(".png")
        png.unlink(missing_ok=True)
        for name, fn in available:
            try:
                fn(svg, png, scale)
            except Exception as exc:
                say(f"{name} could not convert {svg.name}: {exc}")
                png.unlink(missing_ok=True)
                continue
            say(f"wrote {png.relative_to(ROOT)} with {name}")
            break
        else:
            say(f"no PNG for {svg.name}")


# -- main ---------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="leave the demo objects in place")
    parser.add_argument("--cleanup-only", action="store_true", help="remove demo objects")
    parser.add_argument("--no-png", action="store_true", help="write the SVGs only")
    parser.add_argument("--scale", type=float, default=1.0, help="PNG scale factor")
    args = parser.parse_args()

    try:
        client = docker.from_env(version="auto")
        client.ping()
    except Exception as exc:
        sys.exit(f"screenshots: no Docker engine answers ({exc}); run scripts/dev-engine.sh")
    if args.cleanup_only:
        sweep(client)
        return 0

    OUT.mkdir(exist_ok=True)
    sweep(client)  # leftovers of an earlier run that was killed
    demo = Demo(client)
    try:
        demo.setup()
        svgs = asyncio.run(shoot_main(demo))
        svgs.append(asyncio.run(shoot_engine_down()))
    finally:
        if args.keep:
            say("--keep: leaving the demo objects; --cleanup-only removes them")
        else:
            demo.cleanup()
        client.close()
    if not args.no_png:
        convert(svgs, args.scale)
    return 0


if __name__ == "__main__":
    sys.exit(main())
