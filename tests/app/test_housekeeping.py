"""Housekeeping on the real engine, driven by keys: volumes, networks, disk usage with prunes
that say what they free, and image remove / tag / prune.

Everything a test creates carries dockui.test=1 and a label unique to this run; the screen
is opened with `label_filter` on that label and every prune is restricted to it, so nothing
else on the host is ever touched. The app does not wire the controller yet: each test builds
`Ops(app)` itself."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import docker
import pytest

from dockui import format as fmt
from dockui.app import DockuiApp
from dockui.engine.housekeeping import PrunePreview, validate_reference
from dockui.ops import Ops
from dockui.screens.confirm import ConfirmScreen
from dockui.screens.housekeeping import HousekeepingScreen
from dockui.screens.prompt import PromptScreen
from tests.app.test_app import until
from tests.app.test_inspect_screen import harness
from tests.conftest import BASE_IMAGE, TEST_LABEL, build_image, unique

pytestmark = pytest.mark.engine

RUN = uuid.uuid4().hex[:10]
RUN_LABEL = {"dockui.test.hk": RUN}
LABEL_FILTER = f"dockui.test.hk={RUN}"
FILTERS = {"label": [LABEL_FILTER]}


@pytest.fixture
def make_volume(docker_client: Any) -> Iterator[Callable[[], Any]]:
    made: list[Any] = []

    def make() -> Any:
        volume = docker_client.volumes.create(
            name=unique("dockui-t-vol"), labels={**TEST_LABEL, **RUN_LABEL}
        )
        made.append(volume)
        return volume

    yield make
    for volume in made:
        try:
            volume.remove(force=True)
        except Exception:
            pass


@pytest.fixture
def make_network(docker_client: Any) -> Iterator[Callable[[], Any]]:
    made: list[Any] = []

    def make() -> Any:
        network = docker_client.networks.create(
            unique("dockui-t-net"), labels={**TEST_LABEL, **RUN_LABEL}
        )
        made.append(network)
        return network

    yield make
    for network in made:
        try:
            network.remove()
        except Exception:
            pass


def volume_exists(client: Any, name: str) -> bool:
    try:
        client.volumes.get(name)
    except docker.errors.NotFound:
        return False
    return True


def network_exists(client: Any, net_id: str) -> bool:
    try:
        client.networks.get(net_id)
    except docker.errors.NotFound:
        return False
    return True


def image_tags(client: Any, image_id: str) -> list[str] | None:
    try:
        return client.images.get(image_id).tags
    except docker.errors.ImageNotFound:
        return None


async def open_housekeeping(
    app: DockuiApp, pilot: Any, ops: Ops, *, label_filter: str | None = LABEL_FILTER
) -> HousekeepingScreen:
    await until(pilot, lambda: app.connected and app.engine is not None, timeout=10)
    ops.open_housekeeping(label_filter=label_filter)
    await until(pilot, lambda: isinstance(app.screen, HousekeepingScreen))
    screen = app.screen
    assert isinstance(screen, HousekeepingScreen)
    await until(pilot, lambda: screen.usage is not None and screen.volumes is not None, 15)
    return screen


async def confirm_dialog(app: DockuiApp, pilot: Any) -> ConfirmScreen:
    await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), timeout=10)
    assert isinstance(app.screen, ConfirmScreen)
    return app.screen


# -- volumes ------------------------------------------------------------------------------------
async def test_volume_remove_asks_cancel_keeps_and_in_use_refused(
    docker_client, make_volume, make_container
):
    keep, drop, used = make_volume(), make_volume(), make_volume()
    user = make_container(volumes={used.name: {"bind": "/data", "mode": "rw"}})
    app = DockuiApp()
    async with app.run_test(size=(130, 40)) as pilot:
        ops, notes = harness(app)
        screen = await open_housekeeping(app, pilot, ops)
        await pilot.press("2")
        table = screen.volumes_table
        # Only this run's volumes are listed: the label filter.
        assert set(table.objects) == {keep.name, drop.name, used.name}
        await until(pilot, lambda: table.objects[used.name].in_use is True)  # df measured
        assert table.objects[keep.name].in_use is False

        # Cancel leaves the volume in place.
        table.select_key(keep.name)
        await pilot.press("d")
        dialog = await confirm_dialog(app, pilot)
        assert f"Remove volume {keep.name}?" in dialog.body_text
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
        await pilot.pause(0.3)
        assert await asyncio.to_thread(volume_exists, docker_client, keep.name)

        # Confirmed: gone from the engine, and from the refreshed list.
        table.select_key(drop.name)
        await pilot.press("d")
        await confirm_dialog(app, pilot)
        await pilot.press("y")
        await until(pilot, lambda: f"Removed volume {drop.name}" in notes, timeout=10)
        assert not await asyncio.to_thread(volume_exists, docker_client, drop.name)
        await until(pilot, lambda: drop.name not in table.objects, timeout=10)

        # In use: the engine refuses, said in one sentence naming the container.
        table.select_key(used.name)
        await pilot.press("d")
        dialog = await confirm_dialog(app, pilot)
        assert "in use by 1 container" in dialog.body_text
        await pilot.press("y")
        await until(pilot, lambda: any("is in use by" in n for n in notes), timeout=10)
        refusal = next(n for n in notes if "is in use by" in n)
        assert refusal == f"Volume {used.name} is in use by {user.name}: remove the container first"
        assert await asyncio.to_thread(volume_exists, docker_client, used.name)


async def test_volume_prune_says_what_it_frees(docker_client, make_volume, make_container):
    full, empty, used = make_volume(), make_volume(), make_volume()
    writer = make_container(
        ["sh", "-c", "head -c 100000 /dev/zero > /data/blob"],
        volumes={full.name: {"bind": "/data", "mode": "rw"}},
    )
    writer.wait(timeout=30)
    writer.remove()
    make_container(volumes={used.name: {"bind": "/data", "mode": "rw"}})
    app = DockuiApp()
    async with app.run_test(size=(130, 40)) as pilot:
        ops, notes = harness(app)
        screen = await open_housekeeping(app, pilot, ops)
        await pilot.press("2")
        await until(pilot, lambda: screen.volumes_table.objects[full.name].size is not None)
        size = screen.volumes_table.objects[full.name].size
        assert size is not None and size >= 100_000

        await pilot.press("P")
        dialog = await confirm_dialog(app, pilot)
        expected = PrunePreview("volumes", (full.name, empty.name), size).sentence()
        assert expected.startswith("Prune 2 unused volumes, freeing ")
        assert dialog.body_text.startswith(expected)
        assert full.name in dialog.body_text and empty.name in dialog.body_text
        assert used.name not in dialog.body_text
        assert LABEL_FILTER in dialog.body_text
        await pilot.press("y")
        await until(pilot, lambda: any(n.startswith("Freed") for n in notes), timeout=15)
        assert f"Freed {fmt.size(size)} (2 volumes)" in notes
        assert not await asyncio.to_thread(volume_exists, docker_client, full.name)
        assert not await asyncio.to_thread(volume_exists, docker_client, empty.name)
        assert await asyncio.to_thread(volume_exists, docker_client, used.name)
        await until(pilot, lambda: set(screen.volumes_table.objects) == {used.name}, timeout=10)


# -- disk usage -----------------------------------------------------------------------------------
async def test_disk_usage_rows_and_per_row_prune(docker_client, make_container):
    stopped = make_container(start=False, labels=RUN_LABEL)
    running = make_container(labels=RUN_LABEL)
    app = DockuiApp()
    async with app.run_test(size=(130, 40)) as pilot:
        ops, notes = harness(app)
        screen = await open_housekeeping(app, pilot, ops)
        table = screen.usage_table
        assert [table.get_row_at(i)[0].plain for i in range(table.row_count)] == [
            "Images",
            "Containers",
            "Local Volumes",
            "Build Cache",
        ]
        assert screen.usage is not None and screen.usage.containers.total >= 2

        # Build cache entries carry no labels: refused while the screen is label-filtered.
        table.select_key("Build Cache")
        await pilot.press("P")
        assert any("carry no labels" in n for n in notes)
        assert not isinstance(app.screen, ConfirmScreen)

        # Containers row: preview names the stopped one only; cancel keeps it.
        table.select_key("Containers")
        await pilot.press("P")
        dialog = await confirm_dialog(app, pilot)
        assert dialog.body_text.startswith("Prune 1 stopped container, freeing ")
        assert stopped.name in dialog.body_text and running.name not in dialog.body_text
        await pilot.press("n")
        await until(pilot, lambda: app.screen is screen)
        assert (await asyncio.to_thread(docker_client.api.inspect_container, stopped.id))["Id"]

        await pilot.press("P")
        await confirm_dialog(app, pilot)
        await pilot.press("y")
        await until(pilot, lambda: any(n.startswith("Freed") for n in notes), timeout=15)
        assert re.fullmatch(r"Freed \S+ \S+ \(1 container\)", notes[-1]), notes[-1]
        with pytest.raises(docker.errors.NotFound):
            await asyncio.to_thread(docker_client.api.inspect_container, stopped.id)
        assert (await asyncio.to_thread(docker_client.api.inspect_container, running.id))["Id"]


# -- networks -----------------------------------------------------------------------------------
async def test_networks_remove_prune_and_builtin_refused(docker_client, make_network):
    one, two, three = make_network(), make_network(), make_network()
    app = DockuiApp()
    async with app.run_test(size=(130, 40)) as pilot:
        ops, notes = harness(app)
        screen = await open_housekeeping(app, pilot, ops)
        await pilot.press("3")
        table = screen.networks_table
        await until(pilot, lambda: set(table.objects) == {one.id, two.id, three.id})

        table.select_key(one.id)
        await pilot.press("d")
        dialog = await confirm_dialog(app, pilot)
        assert f"Remove network {one.name}" in dialog.body_text
        await pilot.press("y")
        await until(pilot, lambda: f"Removed network {one.name}" in notes, timeout=10)
        assert not await asyncio.to_thread(network_exists, docker_client, one.id)
        await until(pilot, lambda: one.id not in table.objects, timeout=10)

        await pilot.press("P")
        dialog = await confirm_dialog(app, pilot)
        assert dialog.body_text.startswith("Prune 2 unused networks?")
        await pilot.press("y")
        await until(pilot, lambda: "Removed 2 networks" in notes, timeout=10)
        for net in (two, three):
            assert not await asyncio.to_thread(network_exists, docker_client, net.id)
        await pilot.press("escape")

        # The built-in networks (listed without a filter: looking touches nothing) are refused
        # with a sentence, before anything is asked.
        screen = await open_housekeeping(app, pilot, ops, label_filter=None)
        await pilot.press("3")
        table = screen.networks_table
        await until(pilot, lambda: any(n.name == "bridge" for n in table.objects.values()))
        bridge = next(n for n in table.objects.values() if n.name == "bridge")
        table.select_key(bridge.id)
        await pilot.press("d")
        assert "bridge is built in and cannot be removed." in notes
        assert app.screen is screen
        assert await asyncio.to_thread(network_exists, docker_client, bridge.id)


# -- images ---------------------------------------------------------------------------------------
def _image(client: Any, tag: str) -> Any:
    dockerfile = (
        f"FROM {BASE_IMAGE}\nLABEL dockui.test.hk={RUN}\nRUN echo {uuid.uuid4().hex} > /id\n"
    )
    return build_image(client, dockerfile, {}, tag)


async def test_image_tag_remove_and_prune_dangling(docker_client):
    repo = f"dockui-test/hk-{RUN}"
    image = _image(docker_client, f"{repo}:one")
    dangling = _image(docker_client, f"{repo}:two")
    _image(docker_client, f"{repo}:two")  # takes the tag: the previous image dangles
    assert image_tags(docker_client, dangling.id) == []
    app = DockuiApp()
    async with app.run_test(size=(130, 40)) as pilot:
        ops, notes = harness(app)
        await until(pilot, lambda: image.id in app.images, timeout=10)

        # A bad reference: the sentence in the prompt, the engine never asked.
        ops.tag_image(image.id, f"{repo}:one")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen))
        prompt = app.screen
        assert isinstance(prompt, PromptScreen) and prompt.input.value == f"{repo}:one"
        prompt.input.value = ""
        await pilot.press(*"Bad:Ref", "enter")
        expected = validate_reference("Bad:Ref")
        assert expected and prompt.problem_text == expected
        assert app.screen is prompt  # kept open to fix the text
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, PromptScreen))
        assert await asyncio.to_thread(image_tags, docker_client, image.id) == [f"{repo}:one"]

        # A good one.
        ops.tag_image(image.id, f"{repo}:one")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen))
        app.screen.input.value = ""
        await pilot.press(*f"{repo}:extra", "enter")
        await until(pilot, lambda: f"Tagged {repo}:one as {repo}:extra" in notes, timeout=10)
        tags = await asyncio.to_thread(image_tags, docker_client, image.id)
        assert sorted(tags or []) == [f"{repo}:extra", f"{repo}:one"]
        await until(pilot, lambda: len(app.images[image.id].tags) == 2, timeout=10)

        # Remove with several tags, no force: only the tag shown goes.
        ops.remove_image(image.id, f"{repo}:extra", force=False)
        dialog = await confirm_dialog(app, pilot)
        assert dialog.body_text.startswith(f"Untag {repo}:extra?")
        assert f"{repo}:one" in dialog.body_text
        await pilot.press("y")
        await until(pilot, lambda: f"Untagged {repo}:extra" in notes, timeout=10)
        assert await asyncio.to_thread(image_tags, docker_client, image.id) == [f"{repo}:one"]
        await until(pilot, lambda: len(app.images[image.id].tags) == 1, timeout=10)

        # The last tag: the dialog names image and tags; cancel keeps it, yes removes it.
        ops.remove_image(image.id, f"{repo}:one", force=False)
        dialog = await confirm_dialog(app, pilot)
        short = image.id.removeprefix("sha256:")[:12]
        assert dialog.body_text == f"Remove image {repo}:one ({short})? Tags: {repo}:one."
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert await asyncio.to_thread(image_tags, docker_client, image.id) == [f"{repo}:one"]
        ops.remove_image(image.id, f"{repo}:one", force=False)
        await confirm_dialog(app, pilot)
        await pilot.press("y")
        await until(pilot, lambda: f"Removed image {repo}:one" in notes, timeout=10)
        assert await asyncio.to_thread(image_tags, docker_client, image.id) is None

        # Prune dangling images (only this run's): the preview, then what it freed.
        ops.prune_dangling_images(filters=FILTERS)
        dialog = await confirm_dialog(app, pilot)
        assert dialog.body_text.startswith("Prune 1 dangling image, freeing about ")
        assert dangling.id.removeprefix("sha256:")[:12] in dialog.body_text
        await pilot.press("y")
        await until(pilot, lambda: any(n.startswith("Freed") for n in notes), timeout=15)
        assert re.fullmatch(r"Freed \S+ \S+ \(1 image\)", notes[-1]), notes[-1]
        assert await asyncio.to_thread(image_tags, docker_client, dangling.id) is None

        # Nothing left to prune: said, nothing asked.
        ops.prune_dangling_images(filters=FILTERS)
        await until(pilot, lambda: "Nothing to prune: no dangling images." in notes, timeout=10)
        assert not isinstance(app.screen, ConfirmScreen)


async def test_read_only_refuses_every_change(docker_client, make_volume):
    volume = make_volume()
    app = DockuiApp(read_only=True)
    async with app.run_test(size=(130, 40)) as pilot:
        ops, notes = harness(app)
        base = await asyncio.to_thread(docker_client.images.get, BASE_IMAGE)
        ops.remove_image(base.id, BASE_IMAGE, force=True)
        ops.tag_image(base.id, BASE_IMAGE)
        ops.prune_dangling_images(filters=FILTERS)
        assert notes[-3:] == [
            "Removing an image is disabled: dockui runs read-only.",
            "Tagging an image is disabled: dockui runs read-only.",
            "Pruning dangling images is disabled: dockui runs read-only.",
        ]
        screen = await open_housekeeping(app, pilot, ops)  # looking is allowed
        await pilot.press("2")
        await until(pilot, lambda: volume.name in screen.volumes_table.objects)
        screen.volumes_table.select_key(volume.name)
        await pilot.press("d", "P")
        assert notes[-2:] == [
            "Removing a volume is disabled: dockui runs read-only.",
            "Pruning unused volumes is disabled: dockui runs read-only.",
        ]
        assert not isinstance(app.screen, ConfirmScreen)
        assert await asyncio.to_thread(volume_exists, docker_client, volume.name)
