"""The audit screen on a real image: `a` on the images pane, findings, inventory filter,
scanner tab, Esc back (and cancelling a running audit)."""

from __future__ import annotations

import time
import uuid

import pytest

from dockui.app import DockuiApp, binding_ids
from dockui.engine.client import Engine
from dockui.screens.audit import AuditScreen
from tests.app.test_app import until
from tests.integration.test_audit_cli import (
    ARG_SECRET,
    AWS,
    DPKG_STATUS,
    GITHUB,
    METADATA,
    PLANTED,
    PRIVATE_KEY,
    RAW,
    build,
)

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def planted(docker_client):
    tag = f"dockui-test/audit-screen:{uuid.uuid4().hex[:6]}"
    files = {
        "id_rsa": PRIVATE_KEY.encode(),
        "tokens.txt": f"github={GITHUB}\naws_access_key_id={AWS}\n".encode(),
        "status": DPKG_STATUS.encode(),
        "METADATA": METADATA.encode(),
    }
    image = build(docker_client, PLANTED, files, tag, buildargs={"DEPLOY_PASSWORD": ARG_SECRET})
    yield image
    docker_client.images.remove(image.id, force=True)


async def open_audit(app, pilot, image_id) -> AuditScreen:
    table = app.images_pane.table
    await until(pilot, lambda: image_id in table.objects)
    table.focus()
    table.select_key(image_id)
    await pilot.press("a")
    await until(pilot, lambda: isinstance(app.screen, AuditScreen))
    return app.screen


def screen_text(screen: AuditScreen) -> str:
    parts = [str(screen.header_line.render()), str(screen.finding_detail.render())]
    parts.append(str(screen.scanner_status.render()))
    for table in (screen.findings_table, screen.packages_table, screen.scanner_table):
        for row in range(table.row_count):
            parts += [cell.plain for cell in table.get_row_at(row)]
    return "\n".join(parts)


async def test_a_opens_the_audit_with_findings_inventory_and_scanner(planted):
    assert "images.audit" in binding_ids()
    app = DockuiApp()
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_audit(app, pilot, planted.id)
        await until(pilot, lambda: screen.report is not None, timeout=30)
        rules = [
            screen.findings_table.get_row_at(i)[1].plain
            for i in range(screen.findings_table.row_count)
        ]
        assert rules[0].startswith("secret.") and "posture.setuid" in rules
        assert {"secret.private-key", "secret.token", "secret.env", "secret.build-arg"} <= set(
            rules
        )
        header = str(screen.header_line.render())
        assert "high" in header and "3 packages" in header
        # The highlighted finding names its file, layer and instruction; a deleted file says so.
        tokens = [i for i, rule in enumerate(rules) if rule == "secret.token"]
        screen.findings_table.focus()
        screen.findings_table.move_cursor(row=tokens[0])
        await pilot.pause(0.05)
        detail = str(screen.finding_detail.render())
        assert "/app/tokens.txt" in detail and "deleted in layer" in detail and "COPY" in detail
        # Inventory, filtered.
        await pilot.press("2")
        assert screen.packages_table.row_count == 3
        await pilot.press("slash")
        await pilot.press(*"pypi")
        await pilot.press("enter")
        await until(pilot, lambda: screen.packages_table.row_count == 1)
        assert screen.packages_table.get_row_at(0)[1].plain == "demo-lib"
        # The scanner ran (trivy offline) or said why not; either way it finished.
        await until(pilot, lambda: screen.scan is not None, timeout=60)
        await pilot.press("3")
        status = str(screen.scanner_status.render())
        assert "trivy" in status or "no vulnerability scanner found" in status
        everything = screen_text(screen)
        for raw in RAW:
            assert raw not in everything
        await pilot.press("escape")  # clears the filter first
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, AuditScreen))


async def test_escape_cancels_a_running_audit(planted, monkeypatch):
    # The real export, held back a moment before its first block: a small image and no
    # scanner installed could otherwise finish before Escape arrives (a flaky race).
    original = Engine.export_image

    def slow_export(self, image, chunk_size=1 << 20):
        time.sleep(1.0)
        yield from original(self, image, chunk_size)

    monkeypatch.setattr(Engine, "export_image", slow_export)
    app = DockuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_audit(app, pilot, planted.id)
        running = app._audit_cancel.get(planted.id)
        assert running is not None  # the export is under way
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, AuditScreen))
        await until(pilot, lambda: not app._audit_cancel, timeout=30)
        assert running.is_set() and screen.scan is None  # the worker stopped early
        # The app is still alive and the images pane answers.
        await pilot.press("j")
