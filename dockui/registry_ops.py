"""Registries, app side: push the highlighted image, pull by reference, log in.

`RegistryOps(app)` is the controller between the screens and `dockui.engine.registry`. The
transfer runs in a thread worker and hands its events to the transfer screen's queue; the
login runs in a worker and answers the form. Push and pull are refused while the app runs
read-only (a login only writes the local docker config, so it stays allowed).

What it needs from the app: `engine`, `read_only`, `run_worker`, `call_from_thread`,
`push_screen`, `notify`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dockui.engine.registry import (
    InvalidReference,
    RegistryError,
    Transfer,
    TransferCancelled,
    TransferFailed,
    parse_reference,
    validate_push_reference,
    validate_reference,
)
from dockui.screens.login import LoginForm, LoginScreen
from dockui.screens.prompt import PromptScreen
from dockui.screens.transfer import TransferScreen

if TYPE_CHECKING:
    from textual.app import App

    from dockui.engine.client import Engine
    from dockui.engine.models import ImageSummary


def registry_of(tag: str) -> str:
    """The registry part of a tag ("" for Docker Hub or an unparsable tag)."""
    try:
        return parse_reference(tag).registry
    except InvalidReference:
        return ""


def push_default(tags: tuple[str, ...]) -> str:
    """The tag a push offers first: one that names a registry, else the first tag."""
    return next((t for t in tags if registry_of(t)), tags[0] if tags else "")


class RegistryOps:
    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self.transfers: list[Transfer] = []  # running ones (tests and quit look here)
        self.last_registry = ""

    # -- plumbing ---------------------------------------------------------------------------
    @property
    def engine(self) -> Engine | None:
        return getattr(self.app, "engine", None)

    def _note(self, text: str, severity: str = "information", timeout: float | None = None) -> None:
        kwargs: dict[str, Any] = {"severity": severity, "markup": False}
        if timeout is not None:
            kwargs["timeout"] = timeout
        self.app.notify(text, **kwargs)

    def _refused(self, what: str) -> bool:
        if getattr(self.app, "read_only", False):
            self._note(f"{what} is disabled: dockui runs read-only.", "warning")
            return True
        return False

    def _engine_or_say(self) -> Engine | None:
        engine = self.engine
        if engine is None:
            self._note("Not connected to the engine.", "error")
        return engine

    def _back(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            self.app.call_from_thread(fn, *args)
        except RuntimeError:
            pass  # the app ended meanwhile

    # -- push ---------------------------------------------------------------------------------
    def push_image(self, image: ImageSummary) -> None:
        """Ask which reference to push the image as (its tags offered; a new name tags the
        image first), then push with progress."""
        if self._refused("Pushing an image"):
            return
        if self._engine_or_say() is None:
            return
        tags = tuple(t for t in image.tags if "<none>" not in t)
        short = image.id.removeprefix("sha256:")[:12]
        shown = image.display_name or short
        hint = "Enter pushes · Esc cancels · a name the image lacks tags it first"
        if len(tags) > 1:
            hint += "\nIts tags: " + ", ".join(tags)
        elif not tags:
            hint += "\nThe image has no tag yet: give registry:port/repository:tag"

        def answered(reference: str | None) -> None:
            if not reference:
                return
            try:
                ref = parse_reference(reference, allow_digest=False)
            except InvalidReference as exc:
                self._note(str(exc), "error")
                return
            full = str(ref)
            self.last_registry = ref.registry_host
            if full in tags:
                self.start("push", full)
            else:
                self._tag_then_push(image.id, shown, full)

        self.app.push_screen(
            PromptScreen(
                f"Push {shown} as",
                push_default(tags),
                placeholder="registry:5000/repository:tag",
                hint=hint,
                check=validate_push_reference,
            ),
            answered,
        )

    def _tag_then_push(self, image_id: str, shown: str, reference: str) -> None:
        from dockui.engine.housekeeping import tag_image
        from dockui.ops import sentence

        engine = self._engine_or_say()
        if engine is None:
            return

        def go() -> None:
            try:
                tag_image(engine, image_id, reference)
            except Exception as exc:
                self._back(self._note, sentence(exc), "error")
                return
            self._back(self._note, f"Tagged {shown} as {reference}", "information", 3)
            self._back(self.start, "push", reference)

        self.app.run_worker(go, thread=True, group="registry-tag", exit_on_error=False)

    # -- pull ---------------------------------------------------------------------------------
    def pull_image(self, start: str = "") -> None:
        if self._refused("Pulling an image"):
            return
        if self._engine_or_say() is None:
            return

        def answered(reference: str | None) -> None:
            if not reference:
                return
            try:
                ref = parse_reference(reference)
            except InvalidReference as exc:
                self._note(str(exc), "error")
                return
            self.last_registry = ref.registry_host
            self.start("pull", str(ref))

        self.app.push_screen(
            PromptScreen(
                "Pull image",
                start,
                placeholder="registry:5000/repository[:tag][@digest]",
                hint="Enter pulls · Esc cancels · no tag means :latest",
                check=validate_reference,
            ),
            answered,
        )

    # -- the transfer -------------------------------------------------------------------------
    def start(self, kind: str, reference: str) -> TransferScreen | None:
        """Push or pull `reference` with the progress screen; returns the screen."""
        if self._refused("Pushing an image" if kind == "push" else "Pulling an image"):
            return None
        engine = self._engine_or_say()
        if engine is None:
            return None
        transfer = Transfer(engine, "push" if kind == "push" else "pull", reference)
        screen = TransferScreen(kind, reference, on_cancel=transfer.cancel)
        self.app.push_screen(screen)
        self.transfers.append(transfer)

        def go() -> None:
            try:
                for event in transfer:
                    screen.queue.append(event)
            except Exception as exc:  # a bug, not the engine: still one sentence
                screen.queue.append(
                    TransferFailed(reference, f"The {kind} stopped: {type(exc).__name__}")
                )
            finally:
                if transfer.outcome is None:
                    screen.queue.append(TransferCancelled(reference))
                if transfer in self.transfers:
                    self.transfers.remove(transfer)

        self.app.run_worker(go, thread=True, group="registry-transfer", exit_on_error=False)
        return screen

    def cancel_all(self) -> None:
        for transfer in list(self.transfers):
            transfer.cancel()

    # -- what a registry holds ------------------------------------------------------------------
    def browse(self, registry: str = "") -> None:
        """Ask for a registry (the last one used offered), then list its repositories and
        tags (Registry API v2, with the stored login); Enter on a tag pulls it."""
        from dockui.engine.registry import validate_registry

        registry = registry or self.last_registry
        if registry == "docker.io":
            registry = ""  # Docker Hub has no catalog

        def answered(text: str | None) -> None:
            if text:
                self._load_catalog(text)

        self.app.push_screen(
            PromptScreen(
                "Browse registry",
                registry,
                placeholder="host[:port], e.g. localhost:5000",
                hint="Enter lists its repositories and tags · Esc cancels",
                check=validate_registry,
            ),
            answered,
        )

    def _load_catalog(self, text: str, limit: int = 200) -> None:
        from dockui.engine.registry import list_repositories, list_tags, normalize_registry

        try:
            host = normalize_registry(text)
        except InvalidReference as exc:
            self._note(str(exc), "error")
            return
        self._note(f"Reading the catalog of {host} …", timeout=2)

        def go() -> None:
            try:
                repositories = list_repositories(host)
            except RegistryError as exc:
                self._back(self._note, str(exc), "error", 8)
                return
            except Exception as exc:
                self._back(self._note, f"Cannot list {host}: {type(exc).__name__}", "error")
                return
            rows: list[tuple[str, list[str]]] = []
            for repo in repositories[:limit]:
                try:
                    rows.append((repo, list_tags(host, repo)))
                except Exception:
                    rows.append((repo, []))
            note = ""
            if len(repositories) > limit:
                note = f"Only the first {limit} of {len(repositories)} repositories are shown."
            self.last_registry = host
            self._back(self._show_catalog, host, rows, note)

        self.app.run_worker(go, thread=True, group="registry-catalog", exit_on_error=False)

    def _show_catalog(self, host: str, rows: list[tuple[str, list[str]]], note: str) -> None:
        from dockui.screens.catalog import CatalogScreen

        def pull(reference: str) -> None:
            self.start("pull", reference)

        self.app.push_screen(CatalogScreen(host, rows, on_pull=pull, note=note))

    # -- login --------------------------------------------------------------------------------
    def open_login(self, registry: str = "") -> None:
        """The login form, for `registry` (else the last one used)."""
        if self.engine is None:
            self._note("Not connected to the engine: the engine checks the login.", "error")
            return
        registry = registry or self.last_registry
        if registry == "docker.io":
            registry = ""
        self.app.push_screen(LoginScreen(registry, on_submit=self._login))

    def _login(self, screen: LoginScreen, form: LoginForm) -> None:
        from dockui.engine.registry import login

        engine = self.engine
        if engine is None:
            screen.failed("Not connected to the engine.")
            return

        def go() -> None:
            try:
                result = login(engine, form.registry, form.username, form.password)
            except RegistryError as exc:
                self._back(self._if_attached, screen, screen.failed, str(exc))
                return
            except Exception as exc:  # the docker config unwritable, a helper missing, ...
                text = str(exc).replace(form.password, "••••") if form.password else str(exc)
                self._back(self._if_attached, screen, screen.failed, text.splitlines()[0])
                return
            self.last_registry = result.registry
            self._back(self._logged_in, screen, result.sentence)

        self.app.run_worker(go, thread=True, group="registry-login", exit_on_error=False)

    def _logged_in(self, screen: LoginScreen, sentence: str) -> None:
        if screen.is_attached:
            screen.dismiss(None)
        self._note(sentence, timeout=6)

    @staticmethod
    def _if_attached(screen: Any, fn: Callable[..., Any], *args: Any) -> None:
        if screen.is_attached:
            fn(*args)
