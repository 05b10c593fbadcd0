"""Helpers for the browser tests: launching Debian's Chromium, axe-core, and the report.

The report (axe results of every page state, the keyboard-only run) is printed at the end of
the test run by `pytest_terminal_summary` in tests/conftest.py and kept in
test-artifacts/browser-report.txt; screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import gettext
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
REPORT_FILE = ARTIFACTS / "browser-report.txt"
# Without the networking flags Chromium keeps calling Google's hosts, which are unreachable.
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
BLOCKING_IMPACTS = ("serious", "critical")

REPORT: list[str] = []


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless; a missing browser fails the run (it never skips)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-browser (make test does)")
    if not AXE_SCRIPT.exists():
        pytest.fail(f"{AXE_SCRIPT} is missing: run scripts/install-browser (make test does)")
    # Chromium's own sandbox needs user namespaces that a root process in a container lacks.
    args = ["--no-sandbox", *CHROMIUM_ARGS] if os.geteuid() == 0 else CHROMIUM_ARGS
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)


def report(line: str) -> None:
    REPORT.append(line)


def check_accessibility(page: Page, state: str, *, javascript: bool = True) -> list[dict]:
    """Run axe-core on the page as it is now; report it; return the serious or critical ones.

    axe needs JavaScript: for a page of a context without it, axe runs on a copy (same HTML,
    same URL, its own scripts refused) in a context with it.
    """
    if not javascript:
        with _scriptable_copy(page) as copy:
            return check_accessibility(copy, state)
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated by the test, not added as a <script>: the portal's Content-Security-Policy
        # refuses inline scripts.
        page.evaluate(f"() => {{\n{AXE_SCRIPT.read_text(encoding='utf-8')}\n}}")
    results = page.evaluate(
        """() => Promise.race([
          axe.run(document, {resultTypes: ['violations']}),
          new Promise((_, fail) => setTimeout(() => fail(new Error('axe: no answer')), 20000)),
        ])"""
    )
    violations = results["violations"]
    blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
    summary = f"{len(violations)} violation(s), {len(blocking)} serious or critical"
    report(f"axe  {state:<34} {len(results['passes'])} rules passed, {summary}")
    for violation in violations:
        targets = ", ".join(" ".join(node["target"]) for node in violation["nodes"][:3])
        report(
            f"       - {violation['impact']}: {violation['id']} ({violation['help']}) at {targets}"
        )
    return blocking


@contextmanager
def _scriptable_copy(page: Page) -> Iterator[Page]:
    html = page.content()
    context = page.context.browser.new_context(viewport=page.viewport_size)
    copy = context.new_page()
    copy.route("**/*.js", lambda route: route.abort())
    copy.route(
        page.url, lambda route: route.fulfill(body=html, content_type="text/html; charset=utf-8")
    )
    copy.goto(page.url)
    try:
        yield copy
    finally:
        context.close()


def save_screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def focus_indicator(page: Page) -> dict[str, str]:
    """The focused element and its outline (the label's, for the invisible file input)."""
    return page.evaluate(
        """() => {
          const element = document.activeElement;
          let shown = element;
          if (element.matches('input[type=file]') && getComputedStyle(element).opacity === '0') {
            shown = element.labels[0];
          }
          const style = getComputedStyle(shown);
          const name = element.id ? '#' + element.id : (element.textContent || '').trim();
          return {
            element: element.tagName.toLowerCase() + ' ' + name.slice(0, 40),
            outline: style.outlineStyle + ' ' + style.outlineWidth + ' ' + style.outlineColor,
            visible: String(style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0),
          };
        }"""
    )


def horizontal_overflow(page: Page) -> int:
    """How many pixels the page is wider than the viewport (0: no horizontal scrolling)."""
    return page.evaluate(
        "() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth)"
    )


def write_report(terminalreporter: pytest.TerminalReporter) -> None:
    if not REPORT:
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    REPORT_FILE.write_text("\n".join(REPORT) + "\n", encoding="utf-8")
    terminalreporter.section("browser tests: axe-core on every page state, keyboard-only run")
    for line in REPORT:
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"(also in {REPORT_FILE.relative_to(ROOT)})")


# Words a translated page keeps in English: file names, units, the sample's host name, and the
# other languages' names in the language menu (each written in its own language).
ENGLISH_ALLOWED = {"ls_activation", "ls_deactivation", "req", "lic", "notes", "KB", "USB", "vm"}
# Words that mean nothing in German, French or Spanish: one of them is English left over.
ENGLISH_ONLY_WORDS = {
    "the", "your", "you", "this", "with", "file", "request", "please", "and", "is", "was",
    "not", "could", "from", "to", "again", "here", "of",
}  # fmt: skip
LATIN_SCRIPT = {"de", "fr", "es"}


def page_words(page: Page) -> str:
    """The page's text as a reader meets it (title, text, accessible names and announcements),
    without what is data, not wording: code, the tenant's name, the facts' values, the menu."""
    return page.evaluate(
        """() => {
          const copy = document.body.cloneNode(true);
          copy.querySelectorAll('code, option, script, .brand-name, dl.facts dd')
            .forEach((element) => element.remove());
          const parts = [document.title.split(' · ')[0]];
          copy.querySelectorAll('[aria-label], [data-announce], [title], [alt]').forEach((el) => {
            for (const name of ['aria-label', 'data-announce', 'title', 'alt']) {
              if (el.getAttribute(name)) parts.push(el.getAttribute(name));
            }
          });
          const walker = document.createTreeWalker(copy, NodeFilter.SHOW_TEXT);
          while (walker.nextNode()) parts.push(walker.currentNode.nodeValue);
          parts.push(document.getElementById('announcer').textContent);
          return parts.join(' ').replace(/\\s+/g, ' ');
        }"""
    )


def english_left(page: Page, language: str) -> list[str]:
    """English still on a page that should be in `language`: any English phrase of the
    catalogues whose translation differs, and, for Japanese and Arabic, any Latin word outside
    ENGLISH_ALLOWED; for German, French and Spanish, any word only English has."""
    text = page_words(page)
    found = [phrase for phrase in _english_phrases(language) if phrase in text]
    words = re.findall(r"[A-Za-z][A-Za-z_’'-]*", text)
    if language in LATIN_SCRIPT:
        found += [word for word in words if word.lower() in ENGLISH_ONLY_WORDS]
    else:
        found += [word for word in words if word not in ENGLISH_ALLOWED]
    return found


def _english_phrases(language: str) -> set[str]:
    """Each English msgid's runs of two words or more (between markup and placeholders)."""
    phrases: set[str] = set()
    for domain in ("django", "djangojs"):
        catalogue = gettext.translation(domain, ROOT / "locale", languages=[language])
        for key, translated in catalogue._catalog.items():
            english = key[0] if isinstance(key, tuple) else key
            english = english.split("\x04")[-1]  # a context's prefix
            if not english or translated == english:
                continue
            for run in re.split(r"<[^>]+>|%\(\w+\)s|\{\w+\}", english):
                run = " ".join(run.split()).strip(" .,:;()")
                if len(run.split()) >= 2:
                    phrases.add(run)
    return phrases
