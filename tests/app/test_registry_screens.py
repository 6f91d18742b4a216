"""Push, pull and log in from the keyboard, against a real registry (docker-registry on a
loopback port) and the real engine."""

from __future__ import annotations

import json
import uuid

import pytest

from dockui.app import DockuiApp
from dockui.engine.registry import TransferCancelled, TransferDone
from dockui.screens.login import LoginScreen
from dockui.screens.prompt import PromptScreen
from dockui.screens.transfer import TransferScreen
from tests.app.test_app import until
from tests.conftest import BASE_IMAGE, build_image

pytestmark = pytest.mark.engine


def notes(app: DockuiApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


@pytest.fixture
def tags_to_remove(docker_client):
    made: list[str] = []
    yield made
    for tag in made:
        try:
            docker_client.images.remove(tag, force=True)
        except Exception:
            pass


async def test_push_from_the_images_pane_then_pull_back(registry, docker_client, tags_to_remove):
    local = f"dockui-test/pilot-push:{uuid.uuid4().hex[:6]}"
    image = build_image(
        docker_client,
        f"FROM {BASE_IMAGE}\nRUN dd if=/dev/urandom of=/blob bs=1024 count=1024 2>/dev/null\n",
        {},
        local,
    )
    remote = f"{registry.host}/dockui-test/pilot:v1"
    tags_to_remove += [local, remote]
    app = DockuiApp()
    async with app.run_test(size=(130, 40)) as pilot:
        table = app.images_pane.table
        await until(pilot, lambda: image.id in table.objects, timeout=10)
        table.focus()
        table.select_key(image.id)
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen))
        prompt = app.screen
        assert prompt.input.value == local  # its tag is offered first
        prompt.input.value = ""
        await pilot.press(*"Bad/Name")
        assert "lowercase" in prompt.problem_text  # checked as it is typed
        prompt.input.value = ""
        await pilot.press(*remote, "enter")  # a name it lacks: tagged first, then pushed
        try:
            await until(pilot, lambda: isinstance(app.screen, TransferScreen), timeout=10)
        except AssertionError:
            raise AssertionError(f"{notes(app)} {app.screen_stack}") from None
        screen = app.screen
        assert isinstance(screen, TransferScreen)
        await until(pilot, lambda: screen.result is not None, timeout=60)
        result = screen.result
        assert isinstance(result, TransferDone), result
        assert result.digest and f"Digest: {result.digest}" in screen.text
        assert "✓ pushed" in screen.text
        assert screen.table.row_count >= 2  # one row per layer
        assert remote in app.images[image.id].tags
        digests = docker_client.images.get(image.id).attrs["RepoDigests"]
        assert f"{remote.rsplit(':', 1)[0]}@{result.digest}" in digests
        await pilot.press("c")  # copy the digest
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, TransferScreen))

        # Remove it locally, then pull it back by its reference.
        docker_client.images.remove(local)
        docker_client.images.remove(remote)
        await until(pilot, lambda: image.id not in app.images, timeout=10)
        app.images_pane.focus()
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen))
        app.screen.input.value = ""
        await pilot.press(*remote, "enter")
        await until(pilot, lambda: isinstance(app.screen, TransferScreen), timeout=10)
        pulled = app.screen
        await until(pilot, lambda: pulled.result is not None, timeout=60)
        assert isinstance(pulled.result, TransferDone), pulled.result
        assert pulled.result.image_id == image.id and pulled.result.digest == result.digest
        assert "✓ pulled" in pulled.text
        await until(pilot, lambda: image.id in app.images, timeout=10)


async def test_escape_cancels_a_running_push(registry, docker_client, tags_to_remove):
    remote = f"{registry.host}/dockui-test/pilot-cancel:{uuid.uuid4().hex[:6]}"
    image = build_image(
        docker_client,
        f"FROM {BASE_IMAGE}\nRUN dd if=/dev/urandom of=/blob bs=1048576 count=48 2>/dev/null\n",
        {},
        remote,
    )
    tags_to_remove.append(remote)
    app = DockuiApp()
    async with app.run_test(size=(130, 40)) as pilot:
        await until(pilot, lambda: image.id in app.images_pane.table.objects, timeout=10)
        screen = app.registry_ops.start("push", remote)
        assert screen is not None
        await until(
            pilot, lambda: any(lay.phase == "pushing" for lay in screen.layer_states.values())
        )
        await pilot.press("escape")
        await until(pilot, lambda: screen.result is not None, timeout=10)
        assert isinstance(screen.result, TransferCancelled)
        assert "cancelled" in screen.text
        await until(pilot, lambda: not app.registry_ops.transfers, timeout=5)
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, TransferScreen))


async def test_login_form_says_unauthorized_and_never_shows_the_password(
    auth_registry, docker_config
):
    wrong = f"wrong-{uuid.uuid4().hex}"
    app = DockuiApp()
    async with app.run_test(size=(130, 40)) as pilot:
        await until(pilot, lambda: app.connected, timeout=10)
        app.images_pane.focus()
        await pilot.press("L")
        await until(pilot, lambda: isinstance(app.screen, LoginScreen))
        form = app.screen
        assert isinstance(form, LoginScreen) and form.password_input.password  # masked
        form.registry_input.value = auth_registry.host
        form.username_input.value = auth_registry.username
        form.password_input.focus()
        await pilot.press(*wrong)
        shown = app.export_screenshot()
        assert wrong not in shown and "•" in shown
        await pilot.press("enter")
        await until(pilot, lambda: form.problem_text and not form.busy, timeout=10)
        assert form.problem_text.startswith(f"Login to {auth_registry.host} failed: unauthorized")
        assert form.password_input.value == ""  # cleared for another try
        shown = app.export_screenshot()
        assert "unauthorized" in shown and wrong not in shown
        assert not any(wrong in n for n in notes(app))
        assert not (docker_config / "config.json").exists()

        # The right password: the form closes, the login is stored like docker login's.
        await pilot.press(*auth_registry.password, "enter")
        await until(pilot, lambda: not isinstance(app.screen, LoginScreen), timeout=10)
        assert any(n.startswith(f"Logged in to {auth_registry.host}") for n in notes(app))
        config = json.loads((docker_config / "config.json").read_text())
        assert auth_registry.host in config["auths"]
        for text in [app.export_screenshot(), *notes(app)]:
            assert auth_registry.password not in text


async def test_read_only_refuses_push_and_pull(docker_client):
    app = DockuiApp(read_only=True)
    async with app.run_test(size=(130, 40)) as pilot:
        await until(pilot, lambda: app.connected and app.images, timeout=10)
        app.images_pane.focus()
        await pilot.press("p")
        await pilot.press("l")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, (PromptScreen, TransferScreen))
        said = notes(app)
        assert any("Pushing an image is disabled" in n for n in said)
        assert any("Pulling an image is disabled" in n for n in said)
        assert app.registry_ops.start("push", "127.0.0.1:1/x:1") is None


async def test_browse_an_auth_registry_and_pull_from_its_catalog(
    auth_registry, docker_config, docker_client, tags_to_remove
):
    from dockui.engine.client import connect
    from dockui.engine.registry import Transfer, login
    from dockui.screens.catalog import CatalogScreen

    remote = f"{auth_registry.host}/dockui-test/listed:{uuid.uuid4().hex[:6]}"
    image = build_image(docker_client, f"FROM {BASE_IMAGE}\nRUN echo listed > /l\n", {}, remote)
    tags_to_remove.append(remote)
    engine = connect()
    try:
        login(engine, auth_registry.host, auth_registry.username, auth_registry.password)
        assert isinstance(Transfer(engine, "push", remote).run(), TransferDone)
    finally:
        engine.close()
    docker_client.images.remove(remote)
    app = DockuiApp()
    async with app.run_test(size=(130, 40)) as pilot:
        await until(pilot, lambda: app.connected, timeout=10)
        app.images_pane.focus()
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen))
        app.screen.input.value = ""
        await pilot.press(*auth_registry.host, "enter")
        await until(pilot, lambda: isinstance(app.screen, CatalogScreen), timeout=10)
        catalog = app.screen
        assert catalog.selected == remote  # the stored login was used for the catalog
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TransferScreen), timeout=10)
        pulled = app.screen
        await until(pilot, lambda: pulled.result is not None, timeout=60)
        assert isinstance(pulled.result, TransferDone), pulled.result
        assert pulled.result.image_id == image.id
