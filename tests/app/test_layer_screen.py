"""The layer screen on real images: open, browse, toggle, filter, cancel."""

from __future__ import annotations

import threading
import uuid

import pytest

from dockui.app import DockuiApp
from dockui.engine.layers import REMOVED
from dockui.screens.layers import LayerScreen
from tests.app.test_app import until
from tests.conftest import build_image

pytestmark = pytest.mark.engine

WASTEFUL = """\
FROM dockui-test/busybox
RUN mkdir -p /app /data && head -c 2000000 /dev/urandom > /data/big && echo v1 > /app/config
RUN rm -f /data/big && echo v2 > /app/config
RUN chmod 600 /app/config
RUN rm -rf /app && mkdir /app && echo new > /app/new.txt
"""


@pytest.fixture(scope="module")
def wasteful(docker_client):
    tag = f"dockui-test/wasteful:{uuid.uuid4().hex[:6]}"
    image = build_image(docker_client, WASTEFUL, {}, tag)
    yield image
    docker_client.images.remove(image.id, force=True)


async def open_screen(app, pilot, image_id) -> LayerScreen:
    table = app.images_pane.table
    await until(pilot, lambda: image_id in table.objects)
    table.focus()
    table.select_key(image_id)
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, LayerScreen))
    screen = app.screen
    await until(pilot, lambda: screen.analysis is not None, timeout=20)
    return screen


def tree_paths(screen: LayerScreen) -> dict[str, str]:
    found = {}

    def walk(node):
        for child in node.children:
            if child.data is not None:
                found[child.data.path] = child.data.mark
            walk(child)

    walk(screen.file_tree.root)
    return found


async def test_layer_screen_shows_layers_changes_and_waste(wasteful):
    app = DockuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_screen(app, pilot, wasteful.id)
        analysis = screen.analysis
        assert screen.layer_table.row_count == len(analysis.layers) == 6
        # Waste: the deleted 2 MB file is the worst offender, with the layers that made it.
        first = screen.waste_table.get_row_at(0)
        assert first[3].plain == "/data/big" and first[2].plain == "2,3"
        header = str(screen.header_line.render())
        assert "efficiency" in header and "wasted" in header
        # The last layer replaced /app wholesale: its old files show as removed.
        screen.layer_table.focus()
        await pilot.press("G")
        await until(pilot, lambda: screen.layer_index == 5)
        paths = tree_paths(screen)
        assert paths["/app/config"] == REMOVED and paths["/app/new.txt"] == "added"
        # The whole filesystem after that layer, then a path filter.
        await pilot.press("a")
        await until(pilot, lambda: "/bin" in tree_paths(screen))
        assert "whole filesystem" in str(screen.query_one("#layer-tree-pane").border_title)
        await pilot.press("slash", *"new\\.txt", "enter")
        await until(pilot, lambda: set(tree_paths(screen)) == {"/app", "/app/new.txt"})
        await pilot.press("escape")  # clears the filter
        await until(pilot, lambda: "/bin" in tree_paths(screen))
        await pilot.press("s")
        assert "largest first" in str(screen.query_one("#layer-tree-pane").border_title)
        await pilot.press("escape")  # back to the main screen
        assert not isinstance(app.screen, LayerScreen)
        # A second visit is instant: the analysis is kept.
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, LayerScreen))
        await until(pilot, lambda: app.screen.analysis is analysis)


def ours() -> int:
    """Threads, less the pools that keep idle threads by design (asyncio's executor, the
    stats sampler's pool, which grows as containers are sampled)."""
    pools = ("asyncio_", "ThreadPoolExecutor", "dockui-stats")
    return sum(1 for t in threading.enumerate() if not t.name.startswith(pools))


async def test_leaving_during_the_analysis_cancels_it(docker_client):
    tag = f"dockui-test/big:{uuid.uuid4().hex[:6]}"
    big = build_image(
        docker_client,
        "FROM dockui-test/busybox\nRUN head -c 300000000 /dev/zero > /blob\n",
        {},
        tag,
    )
    try:
        app = DockuiApp()
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.images_pane.table
            await until(pilot, lambda: big.id in table.objects)
            table.focus()
            table.select_key(big.id)
            before = ours()
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, LayerScreen))
            await pilot.pause(0.2)
            assert app.screen.analysis is None  # still reading the export
            await pilot.press("escape")
            assert not isinstance(app.screen, LayerScreen)
            await until(pilot, lambda: not app._analysis_cancel, timeout=20)
            await until(pilot, lambda: ours() <= before, timeout=10)
            assert big.id not in app.analyses
    finally:
        docker_client.images.remove(big.id, force=True)
