"""The Logs pane against the real engine: hostile output, odd bytes, restarts, search,
filter, save, merged view, history on demand, bounded memory, no leaked threads."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from dockui.app import DockuiApp
from dockui.screens.save import SavePrompt
from tests.app.test_app import until
from tests.conftest import docker_cli, unique

pytestmark = pytest.mark.engine

HOSTILE = (
    r"printf '\033]0;pwned-title\007\033]52;c;ZXZpbA==\007\033[2J\033[H\033P+q544e\033\\"
    r"\033[5;5H\033[31mred-text\033[0m plain-text\n'"
)


async def follow(app, pilot, container) -> None:
    table = app.containers_pane.table
    await until(pilot, lambda: container.id in table.objects)
    table.focus()
    table.select_key(container.id)
    await until(pilot, lambda: app.log_session.ids() == (container.id,))


def rendered(app) -> list[str]:
    """Every segment the Logs pane hands to the terminal for its visible rows."""
    view = app.logs_pane.view
    out = []
    for y in range(view.size.height):
        out.append("".join(seg.text for seg in view.render_line(y)))
    return out


async def test_hostile_log_is_neutralised_but_colours_survive(make_container):
    c = make_container(["sh", "-c", HOSTILE + "; sleep 100000"])
    app = DockuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await follow(app, pilot, c)
        await until(pilot, lambda: any("plain-text" in line for line in app.logs_pane.plain_lines))
        screen = "\n".join(rendered(app))
        assert "red-text plain-text" in screen
        assert "\x1b" not in screen and "\x07" not in screen and "\x9b" not in screen
        assert "pwned-title" not in screen and "ZXZpbA" not in screen
        # The colour was kept as a style, not as bytes.
        row = next(r for r in app.logs_pane.view.rows if "red-text" in r.plain)
        assert "\x1b[31m" in row.line.text
        strip = next(
            app.logs_pane.view.render_line(y)
            for y in range(app.logs_pane.view.size.height)
            if "red-text" in "".join(s.text for s in app.logs_pane.view.render_line(y))
        )
        red = [s for s in strip if "red-text" in s.text]
        assert red and red[0].style is not None and red[0].style.color is not None


async def test_split_multibyte_long_line_and_progress_bars(make_container):
    script = (
        # 2,000 lines of 100 three-byte characters: reads split some of them mid-character.
        "i=0; s=''; while [ $i -lt 100 ]; do s=\"$s€\"; i=$((i+1)); done;"
        'i=0; while [ $i -lt 2000 ]; do echo "$s"; i=$((i+1)); done;'
        "printf 'dl 10%%\\rdl 50%%\\rdl 100%%\\n';"
        "head -c 1048576 /dev/zero | tr '\\0' x; echo; echo after-the-long-line; sleep 100000"
    )
    c = make_container(["sh", "-c", script])
    app = DockuiApp(log_tail=5000)
    async with app.run_test(size=(120, 40)) as pilot:
        await follow(app, pilot, c)
        await until(pilot, lambda: "after-the-long-line" in app.logs_pane.plain_lines, timeout=15)
        lines = app.logs_pane.plain_lines
        # Every character split across reads survives (over 16 KiB the engine itself
        # cuts messages at a byte boundary and stores U+FFFD: not ours to repair).
        assert lines.count("€" * 100) == 2000
        assert "dl 100%" in lines and "dl 10%" not in lines and "dl 50%" not in lines
        long = next(r for r in app.logs_pane.view.rows if r.plain.startswith("xxxx"))
        assert len(long.plain) == 16_384 and long.line.cut == 1_048_576 - 16_384
        # The pane says how much was cut, and keys still answer.
        assert app.logs_pane.view._row_text(long).plain.endswith("[1,032,192 more characters]")
        app.logs_pane.focus()
        await pilot.press("w")
        assert app.logs_pane.view.wrap is False
        assert "no wrap" in str(app.logs_pane.border_subtitle)


async def test_restart_keeps_streaming_with_a_marker_and_removal_ends_it(make_container):
    c = make_container(["sh", "-c", "echo boot-$(cat /proc/uptime | cut -d' ' -f1); sleep 100000"])
    app = DockuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await follow(app, pilot, c)
        await until(pilot, lambda: any(x.startswith("boot-") for x in app.logs_pane.plain_lines))
        await asyncio.to_thread(c.restart, timeout=0)
        await until(
            pilot,
            lambda: sum(x.startswith("boot-") for x in app.logs_pane.plain_lines) == 2,
            timeout=10,
        )
        lines = app.logs_pane.plain_lines
        assert "container restarted" in lines
        assert lines.index("container restarted") < max(
            i for i, x in enumerate(lines) if x.startswith("boot-")
        )
        await pilot.pause(0.5)
        assert sum(x.startswith("boot-") for x in app.logs_pane.plain_lines) == 2  # no dupes
        await asyncio.to_thread(c.remove, force=True)
        await until(pilot, lambda: "container removed" in app.logs_pane.plain_lines)
        assert "container removed" in str(app.logs_pane.border_subtitle)


async def test_a_stream_that_ends_before_the_list_knows_is_not_a_restart(make_container):
    """In a burst the container list is applied once a second: a followed container's
    stream can end (it is being killed) while the list still says "running". That run
    is over, not restarted: the pane said "container restarted" and re-opened the stream
    of a container on its way out ("no logs: ... marked for removal")."""
    c = make_container(["sh", "-c", "echo hello; sleep 100000"])
    app = DockuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await follow(app, pilot, c)
        await until(pilot, lambda: "hello" in app.logs_pane.plain_lines)
        stale = app.containers[c.id]
        await asyncio.to_thread(c.kill)
        await until(pilot, lambda: app.log_session.targets[c.id].ended != "")
        app.containers[c.id] = stale  # the list one update behind, as in a burst
        app._follow_lifecycle()
        await pilot.pause(0.5)
        assert "container restarted" not in app.logs_pane.plain_lines
        assert app.log_session.targets[c.id].follower is None
        # A real start later still re-opens the stream, new lines only.
        await asyncio.to_thread(c.start)
        await until(pilot, lambda: "container restarted" in app.logs_pane.plain_lines)
        await until(pilot, lambda: app.logs_pane.plain_lines.count("hello") == 2)


async def test_search_filter_and_save(make_container, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    script = (
        'i=1; while [ $i -le 60 ]; do if [ $((i % 10)) -eq 0 ]; then echo "ERROR job $i";'
        ' else echo "info job $i"; fi; i=$((i+1)); done; sleep 100000'
    )
    c = make_container(["sh", "-c", script], name=unique("search"))
    app = DockuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await follow(app, pilot, c)
        await until(pilot, lambda: "info job 59" in app.logs_pane.plain_lines)
        app.logs_pane.focus()
        await pilot.press("slash", *"error", "enter")
        view = app.logs_pane.view
        assert view.match_count == 6
        assert "6 matches" in str(app.logs_pane.border_subtitle)
        assert not view.following  # jumping to a match pauses following
        assert "paused" in str(app.logs_pane.border_subtitle)
        first = view.match_position
        await pilot.press("n")
        assert view.match_position == (first % 6) + 1
        await pilot.press("N", "N")
        assert view.match_position == ((first - 2) % 6) + 1
        # Filter: only matching lines, the search kept.
        await pilot.press("f")
        assert app.logs_pane.plain_lines == [f"ERROR job {i}" for i in range(10, 61, 10)]
        await pilot.press("f")
        assert len(app.logs_pane.plain_lines) == 60
        assert view.match_count == 6
        # End resumes following.
        await pilot.press("end")
        assert view.following and "following" in str(app.logs_pane.border_subtitle)
        # Save the buffer: a path prompt with a default in the current folder.
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SavePrompt))
        prompt = app.screen
        assert prompt.input.value.startswith(str(tmp_path)) and c.name in prompt.input.value
        target = tmp_path / "saved.log"
        prompt.input.value = str(target)
        await pilot.press("enter")
        await until(pilot, lambda: target.exists() and target.read_text().count("\n") == 60)
        text = target.read_text().splitlines()
        assert text[0].endswith("info job 1") and "T" in text[0].split()[0]  # RFC 3339 stamp
        # Saving over it asks first; the whole log comes from the engine.
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, SavePrompt))
        app.screen.input.value = str(target)
        await pilot.press("enter")
        assert isinstance(app.screen, SavePrompt)
        assert "exists" in str(app.screen.hint.render())
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, SavePrompt))
        await pilot.pause(0.5)
        assert target.read_text().count("\n") == 60
        # A folder that does not exist is refused with a sentence.
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SavePrompt))
        app.screen.input.value = "/nonexistent/dir/x.log"
        await pilot.press("enter")
        assert "No such folder" in str(app.screen.hint.render())
        await pilot.press("escape")


async def test_merged_view_orders_lines_in_time(make_container):
    a = make_container(["sh", "-c", "for i in 1 3 5 7; do echo a-$i; sleep 0.4; done; sleep 100000"],
                       name=unique("ma"))  # fmt: skip
    await asyncio.sleep(0.2)
    b = make_container(["sh", "-c", "for i in 2 4 6 8; do echo b-$i; sleep 0.4; done; sleep 100000"],
                       name=unique("mb"))  # fmt: skip
    app = DockuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.containers_pane.table
        await until(pilot, lambda: a.id in table.objects and b.id in table.objects)
        table.focus()
        for c in (a, b):
            table.select_key(c.id)
            await pilot.press("space")
        await until(pilot, lambda: set(app.log_session.ids()) == {a.id, b.id})
        assert "2 containers merged" in str(app.logs_pane.border_title)
        await until(pilot, lambda: len(app.logs_pane.plain_lines) >= 8, timeout=8)
        rows = [r for r in app.logs_pane.view.rows if not r.note]
        assert sorted(r.plain for r in rows) == sorted(
            [f"a-{i}" for i in (1, 3, 5, 7)] + [f"b-{i}" for i in (2, 4, 6, 8)]
        )
        # In the engine's time order (each container's tail arrived as its own batch).
        expected = sorted(
            (line.split(" ", 1)[1], line.split(" ", 1)[0])
            for c in (a, b)
            for line in docker_cli("logs", "-t", c.id).splitlines()
        )
        assert [r.plain for r in rows] == [text for text, _ in sorted(expected, key=lambda t: t[1])]
        assert {r.source for r in rows} == {a.name, b.name}
        assert len({r.colour for r in rows}) == 2
        stamps = [r.line.ts for r in rows]
        assert stamps == sorted(stamps)


async def test_history_on_demand_and_bounded_buffer(make_container):
    script = "i=1; while [ $i -le 2500 ]; do echo line-$i; i=$((i+1)); done; sleep 100000"
    c = make_container(["sh", "-c", script])
    app = DockuiApp(log_tail=1000, log_lines=2200)
    async with app.run_test(size=(120, 40)) as pilot:
        await follow(app, pilot, c)
        view = app.logs_pane.view
        await until(pilot, lambda: "line-2500" in app.logs_pane.plain_lines)
        assert len(view.rows) == 1000 and view.rows[0].plain == "line-1501"
        view.focus()
        await pilot.press("home")  # to the top (pauses following) ...
        assert not view.following
        assert "paused" in str(app.logs_pane.border_subtitle)
        for _ in range(3):  # ... and Home at the top loads older history
            if len(view.rows) == 2000:
                break
            await pilot.press("home")
            await pilot.pause(0.5)
        await until(pilot, lambda: len(view.rows) == 2000)
        assert view.rows[0].plain == "line-501"
        assert view.scroll_y > 0  # the view stayed on what the user was reading
        await pilot.press("home", "home")
        await until(pilot, lambda: len(view.rows) == 2200)  # the buffer's bound
        assert view.rows[0].plain == "line-301"
        assert [r.plain for r in view.rows] == [f"line-{i}" for i in range(301, 2501)]


async def test_switching_containers_leaks_no_threads(make_container):
    chatty = "while true; do echo tick; sleep 0.01; done"
    a = make_container(["sh", "-c", chatty], name=unique("sw-a"))
    b = make_container(["sh", "-c", chatty], name=unique("sw-b"))
    app = DockuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.containers_pane.table
        await follow(app, pilot, a)
        await pilot.pause(0.3)

        def log_threads() -> int:  # the stats pool grows on its own: count log streams only
            return sum(1 for t in threading.enumerate() if t.name == "dockui-logs")

        baseline = log_threads()
        assert baseline == 1
        for i in range(50):
            target = b if i % 2 == 0 else a
            table.select_key(target.id)
            await until(pilot, lambda t=target: app.log_session.ids() == (t.id,))
            await pilot.pause(0.02)
        deadline = time.monotonic() + 10
        while log_threads() > baseline and time.monotonic() < deadline:
            await pilot.pause(0.1)
        assert log_threads() == baseline
        assert len(app.log_session.threads()) == 1
