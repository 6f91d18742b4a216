"""The audit screen: an image's findings by severity, its package inventory (filterable) and
the scanner hand-off, in three tabs.

The audit itself runs in the app (it reads the image export from the engine, then runs the
scanner); this screen shows both progresses, can cancel them (Esc), and renders the
results. Everything shown is already masked and cleaned by the engine side.
"""

from __future__ import annotations

import re
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import (
    DataTable,
    Input,
    ProgressBar,
    Static,
    TabbedContent,
    TabPane,
)

from dockui.engine.audit import SEVERITIES, AuditReport, Finding
from dockui.widgets.keybar import KeyBar
from dockui.widgets.keyed_table import NavTable

STYLES = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
    "unknown": "dim",
}
MAX_PACKAGE_ROWS = 5000


class AuditScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back", id="audit.back"),
        Binding("1", "tab('findings')", "Findings", id="audit.findings"),
        Binding("2", "tab('inventory')", "Inventory", id="audit.inventory"),
        Binding("3", "tab('scanner')", "Scanner", id="audit.scanner"),
        Binding("slash", "filter", "Filter packages", id="audit.filter"),
    ]

    class Cancelled(Message):
        """The user left while the audit (or the scanner) was still running."""

        def __init__(self, image_id: str) -> None:
            super().__init__()
            self.image_id = image_id

    def __init__(self, image_id: str, title: str, size: int) -> None:
        super().__init__(id="audit-screen")
        self.image_id = image_id
        self.title_text = title
        self.image_size = size
        self.report: AuditReport | None = None
        self.scan: Any = None
        self.pattern = ""
        self.header_line = Static(id="audit-header")
        self.progress_bar = ProgressBar(total=max(1, size), show_eta=True, id="audit-progress")
        self.findings_table = NavTable(cursor_type="row", id="audit-findings")
        self.finding_detail = Static(id="audit-detail")
        self.packages_table = NavTable(cursor_type="row", id="audit-packages")
        self.filter_input = Input(placeholder="filter packages (regex) — Enter keeps, Esc clears")
        self.filter_input.display = False
        self.scanner_status = Static("waiting for the audit …", id="audit-scanner-status")
        self.scanner_table = NavTable(cursor_type="row", id="audit-scanner-table")

    def compose(self) -> ComposeResult:
        yield self.header_line
        yield self.progress_bar
        with TabbedContent(id="audit-tabs", initial="findings"):
            with TabPane("Findings", id="findings"), Vertical(classes="pane"):
                yield self.findings_table
                yield self.finding_detail
            with TabPane("Inventory", id="inventory"), Vertical(classes="pane"):
                yield self.filter_input
                yield self.packages_table
            with TabPane("Scanner", id="scanner"), Vertical(classes="pane"):
                yield self.scanner_status
                yield self.scanner_table
        yield KeyBar()

    def on_mount(self) -> None:
        self.header_line.update(Text(f" Auditing {self.title_text} …  Esc cancels", style="bold"))
        for key, label in (
            ("sev", "Severity"),
            ("rule", "Rule"),
            ("title", "Finding"),
            ("where", "Where"),
            ("layer", "Layer"),
        ):
            self.findings_table.add_column(label, key=key)
        for key, label in (("type", "Type"), ("name", "Name"), ("version", "Version")):
            self.packages_table.add_column(label, key=key)
        self.packages_table.add_column("Layer", key="layer")
        for key, label in (
            ("sev", "Severity"),
            ("id", "ID"),
            ("pkg", "Package"),
            ("fixed", "Fixed in"),
            ("title", "Title"),
        ):
            self.scanner_table.add_column(label, key=key)
        self.findings_table.focus()

    # -- from the app ----------------------------------------------------------------------
    def set_progress(self, done: int) -> None:
        if self.report is None:
            self.progress_bar.update(progress=min(done, self.image_size))

    def show_error(self, message: str) -> None:
        self.progress_bar.display = False
        self.header_line.update(Text(f" {self.title_text}: {message}", style="bold red"))
        self.scanner_status.update(Text("not run: the audit did not finish", style="dim"))

    def show_report(self, report: AuditReport) -> None:
        self.report = report
        self.progress_bar.display = False
        counts = report.counts()
        head = Text(no_wrap=True, overflow="ellipsis")
        head.append(f" {self.title_text}", style="bold")
        for level in SEVERITIES:
            head.append(
                f"  {counts[level]} {level}", style=STYLES[level] if counts[level] else "dim"
            )
        head.append(f"  · {len(report.packages)} packages · user {report.user}")
        head.append(
            f"  · read {report.scanned.files_read:,} files of {report.scanned.headers:,} "
            f"in {report.scanned.seconds:.1f} s",
            style="dim",
        )
        self.header_line.update(head)
        for i, finding in enumerate(report.findings):
            self.findings_table.add_row(
                Text(finding.severity.upper(), style=STYLES[finding.severity]),
                Text(finding.rule, style="dim"),
                Text(finding.title, no_wrap=True, overflow="ellipsis"),
                Text(finding.path or "config", no_wrap=True, overflow="ellipsis"),
                Text("" if finding.layer is None else str(finding.layer), style="cyan"),
                key=str(i),
            )
        if not report.findings:
            self.finding_detail.update(Text("Nothing found.", style="green"))
        tab = self.query_one("#audit-tabs", TabbedContent)
        tab.get_tab("findings").label = f"Findings ({len(report.findings)})"  # type: ignore[assignment]
        tab.get_tab("inventory").label = f"Inventory ({len(report.packages)})"  # type: ignore[assignment]
        self._fill_packages()
        if report.notes:
            self.finding_detail.update(Text("\n".join(report.notes), style="dim"))
        if report.findings:
            self.findings_table.move_cursor(row=0)
            self._describe(report.findings[0])
        if self.scan is None:
            self.scanner_status.update(Text("scanner: starting …", style="dim"))

    def set_scanner_progress(self, line: str) -> None:
        if self.scan is None:
            self.scanner_status.update(Text(f"scanner running … {line}", style="dim"))

    def show_scanner(self, result: Any) -> None:
        self.scan = result
        status = Text()
        name = result.tool or "scanner"
        if result.status in ("ok", "partial"):
            status.append(f"{name} {result.version}".strip(), style="bold")
            status.append(f": {result.total} finding(s) in {result.seconds:.1f} s  ")
            for level, count in result.counts.items():
                if count:
                    status.append(f"{count} {level}  ", style=STYLES.get(level, ""))
            if result.message:
                status.append(f"\n{result.message}", style="yellow")
        else:
            status.append(result.message, style="yellow")
        self.scanner_status.update(status)
        for i, vuln in enumerate(result.findings):
            what = f"{vuln.package} {vuln.installed}".strip() or vuln.target
            self.scanner_table.add_row(
                Text(vuln.severity.upper(), style=STYLES.get(vuln.severity, "")),
                Text(vuln.id),
                Text(what, no_wrap=True, overflow="ellipsis"),
                Text(vuln.fixed, style="green"),
                Text(vuln.title, no_wrap=True, overflow="ellipsis"),
                key=str(i),
            )
        tab = self.query_one("#audit-tabs", TabbedContent)
        tab.get_tab("scanner").label = f"Scanner ({result.total})"  # type: ignore[assignment]

    # -- rendering -------------------------------------------------------------------------
    def _describe(self, finding: Finding) -> None:
        text = Text()
        text.append(finding.title, style=STYLES[finding.severity])
        if finding.value:
            text.append(f"\nvalue: {finding.value}")
        if finding.path:
            text.append(f"\nfile: {finding.path}")
        if finding.layer is not None:
            text.append(f"\nlayer {finding.layer}", style="cyan")
            if finding.digest:
                text.append(f" ({finding.digest})", style="dim")
        if finding.instruction:
            text.append(f"\nmade by: {finding.instruction}", style="dim")
        if finding.fate:
            text.append(f"\n{finding.fate}", style="bold yellow")
        if finding.detail:
            text.append(f"\n{finding.detail}", style="dim")
        self.finding_detail.update(text)

    def _fill_packages(self) -> None:
        report = self.report
        if report is None:
            return
        self.packages_table.clear()
        try:
            pattern = re.compile(self.pattern, re.IGNORECASE) if self.pattern else None
        except re.error as exc:
            self.query_one("#inventory Vertical").border_subtitle = f"bad regex: {exc}"
            return
        shown = 0
        total = 0
        for i, package in enumerate(report.packages):
            if pattern is not None and not pattern.search(
                f"{package.type} {package.name} {package.version}"
            ):
                continue
            total += 1
            if shown >= MAX_PACKAGE_ROWS:
                continue
            shown += 1
            self.packages_table.add_row(
                Text(package.type, style="cyan"),
                Text(package.name, style="bold"),
                Text(package.version),
                Text("" if package.layer is None else str(package.layer), style="dim"),
                key=str(i),
            )
        found = f" · {total:,} match /{self.pattern}" if self.pattern else ""
        more = f" (first {MAX_PACKAGE_ROWS:,})" if total > shown else ""
        by_type: dict[str, int] = {}
        for package in report.packages:
            by_type[package.type] = by_type.get(package.type, 0) + 1
        kinds = ", ".join(f"{n} {t}" for t, n in sorted(by_type.items())) or "no package database"
        pane = self.query_one("#inventory Vertical")
        pane.border_subtitle = f"{kinds}{found}{more}"

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.report is None or event.row_key is None:
            return
        if event.data_table is self.findings_table:
            self._describe(self.report.findings[int(str(event.row_key.value))])

    # -- keys ------------------------------------------------------------------------------
    def action_back(self) -> None:
        if self.filter_input.display:
            self.filter_input.value = ""
            self.filter_input.display = False
            self.pattern = ""
            self._fill_packages()
            self.packages_table.focus()
            return
        if self.report is None or self.scan is None:
            self.post_message(self.Cancelled(self.image_id))
        self.dismiss()

    def action_tab(self, name: str) -> None:
        self.query_one("#audit-tabs", TabbedContent).active = name
        target = {
            "findings": self.findings_table,
            "inventory": self.packages_table,
            "scanner": self.scanner_table,
        }[name]
        target.focus()

    def action_filter(self) -> None:
        self.action_tab("inventory")
        self.filter_input.display = True
        self.filter_input.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.pattern = event.value.strip()
        if not self.pattern:
            self.filter_input.display = False
        self._fill_packages()
        self.packages_table.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.pattern = event.value.strip()
        self._fill_packages()
