"""Check the built site the way a reader sees it: screenshots in headless Chromium, and their content.

    python docs/_screenshots.py [docs/_build/html]      (the last step of ``nox -s docs``)

For the home page, the quick start, the API page of ``brainstate.nn.Linear``, the state model and
the spiking-network training guide this script

1. checks the built HTML: the quick start and the guide have executed code cells, their output
   blocks and figures (``<img>`` whose PNGs exist and are not blank); the API page shows the public
   path in its signature and a code example; the home page links to the quick start and the API
   reference; the state model shows a module as HTML, both through treescope and in the built-in
   view;
2. takes a screenshot of each with Debian's ``chromium`` (``--headless --screenshot``) into
   ``docs/_build/screenshots/`` and checks that each PNG is not blank: many colours, and no single
   colour covering nearly all of it (a page that failed to render is one flat colour).

It exits with status 1 and says what is missing when a check fails, or when Chromium is not
installed (with the command that installs it).
"""

from __future__ import annotations

import html.parser
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
WIDTH = 1280


@dataclass
class Page:
    name: str
    path: str  # relative to the HTML root
    height: int  # of the screenshot window, in pixels
    needs: list[str] = field(default_factory=list)  # checks of the HTML, by name (see check_html)
    trim: bool = False  # cut the empty stretch a window taller than the page leaves (see _trim)


PAGES = [
    Page("home", "index.html", 1000, ["links"]),
    Page("quickstart", "quickstart.html", 9000, ["code", "output", "figure"], trim=True),
    Page("api-linear", "api/_autogen/names/brainstate.nn.Linear.html", 1600, ["signature", "example"]),
    Page("states", "concepts/states.html", 6000, ["code", "output", "module-views"], trim=True),
    Page("train-snn", "guides/train-snn.html", 9000, ["code", "output", "figure"], trim=True),
]


class _Elements(html.parser.HTMLParser):
    """What the checks look for: the classes of ``div``s, image sources, link targets, element ids."""

    def __init__(self) -> None:
        super().__init__()
        self.classes: list[str] = []
        self.images: list[str] = []
        self.links: list[str] = []
        self.ids: list[str] = []
        self._in_output = 0
        self.output_images: list[str] = []
        self.output_tags: set[str] = set()  # the elements inside cell outputs
        self._depth: list[bool] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "div":
            self.classes.extend(classes)
            opened = "cell_output" in classes
            self._depth.append(opened)
            self._in_output += opened
        if self._in_output:
            self.output_tags.add(tag)
            self.output_tags.update(f"{tag}.{c}" for c in classes)
        if tag == "img" and a.get("src"):
            self.images.append(a["src"])
            if self._in_output:
                self.output_images.append(a["src"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if a.get("id"):
            self.ids.append(a["id"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "div" and self._depth:
            self._in_output -= self._depth.pop()


def _png_problem(png: Path) -> str | None:
    """``None`` if the PNG at ``png`` shows something; otherwise what is wrong with it."""
    from PIL import Image

    if not png.is_file() or png.stat().st_size == 0:
        return f"{png} was not written"
    with Image.open(png) as image:
        rgb = image.convert("RGB")
        rgb.thumbnail((400, 400 * rgb.height // max(rgb.width, 1)))
        colours = rgb.getcolors(maxcolors=1 << 20) or []
    pixels = sum(count for count, _ in colours)
    top = max((count for count, _ in colours), default=0)
    if len(colours) < 16:
        return f"{png} is blank: {len(colours)} colour(s)"
    if top > 0.995 * pixels:
        return f"{png} is nearly blank: one colour covers {top / pixels:.1%} of it"
    return None


def _trim(png: Path, min_gap: int = 400) -> None:
    """Cut the empty stretch that a window taller than the page leaves between the content and the footer.

    Rows are compared with the colour of the page's left edge; the longest run of rows with nothing
    else in the main column is cut away when it is ``min_gap`` pixels or more, keeping a margin.
    """
    from PIL import Image

    with Image.open(png) as image:
        rgb = image.convert("RGB")
    width, height = rgb.size
    column = rgb.crop((width // 3, 0, width * 9 // 10, height)).convert("L")
    pixels = column.load()
    busy = []
    for y in range(height):
        first = pixels[0, y]
        if any(abs(pixels[x, y] - first) > 10 for x in range(0, column.width, 2)):
            busy.append(y)
    gaps = [(b - a, a, b) for a, b in zip(busy, busy[1:])]
    if not gaps:
        return
    size, start, end = max(gaps)
    if size < min_gap:
        return
    margin = 40
    top = rgb.crop((0, 0, width, start + margin))
    bottom = rgb.crop((0, end - margin, width, height))
    joined = Image.new("RGB", (width, top.height + bottom.height), "white")
    joined.paste(top, (0, 0))
    joined.paste(bottom, (0, top.height))
    joined.save(png)


def check_html(root: Path, page: Page) -> list[str]:
    """The problems of ``page``'s HTML (empty when it has everything ``page.needs``)."""
    file = root / page.path
    if not file.is_file():
        return [f"{file} does not exist (was the site built?)"]
    found = _Elements()
    found.feed(file.read_text(encoding="utf-8"))
    problems = []
    for need in page.needs:
        if need == "code" and "cell_input" not in found.classes:
            problems.append(f"{page.path}: no executed code cell (div.cell_input)")
        if need == "output" and "cell_output" not in found.classes:
            problems.append(f"{page.path}: no cell output (div.cell_output): were the cells executed?")
        if need == "figure":
            if not found.output_images:
                problems.append(f"{page.path}: no figure (<img>) in a cell output")
            for src in found.output_images:
                problem = _png_problem((file.parent / src).resolve())
                if problem:
                    problems.append(f"{page.path}: figure {problem}")
        if need == "signature" and "brainstate.nn.Linear" not in found.ids:
            problems.append(f"{page.path}: no signature with the public path brainstate.nn.Linear")
        if need == "example" and not {"doctest", "highlight-python", "highlight-ipython3"} & set(found.classes):
            problems.append(f"{page.path}: no code example")
        if need == "module-views":
            if "treescope-container" not in found.output_tags:
                problems.append(f"{page.path}: no treescope view (<treescope-container>) in a cell output")
            if "div.brainstate-html" not in found.output_tags or "details" not in found.output_tags:
                problems.append(f"{page.path}: no built-in HTML view (div.brainstate-html with <details>) in an output")
        if need == "links":
            for target in ("quickstart.html", "api/index.html"):
                if not any(link.split("#")[0].endswith(target) for link in found.links):
                    problems.append(f"{page.path}: no link to {target}")
    return problems


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def screenshot(browser: str, root: Path, page: Page, out: Path) -> list[str]:
    """Take the screenshot of ``page`` into ``out``; the problems (empty if it shows something)."""
    out.unlink(missing_ok=True)
    url = (root / page.path).resolve().as_uri()
    with tempfile.TemporaryDirectory() as profile:
        command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                   "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}",
                   f"--window-size={WIDTH},{page.height}", "--virtual-time-budget=5000",
                   f"--screenshot={out}", url]
        try:
            run = subprocess.run(command, capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            return [f"{page.path}: chromium did not finish within 120 s"]
    if run.returncode != 0 or not out.is_file():
        return [f"{page.path}: chromium failed (exit {run.returncode}): {run.stderr.strip()[-500:]}"]
    if page.trim:
        _trim(out)
    problem = _png_problem(out)
    return [f"{page.path}: screenshot {problem}"] if problem else []


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else HERE / "_build" / "html"
    shots = root.parent / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    problems = [problem for page in PAGES for problem in check_html(root, page)]
    browser = chromium()
    if browser is None:
        problems.append("chromium is not installed, so no screenshots were taken. "
                        "Fix: apt-get update && apt-get install -y chromium")
    else:
        for page in PAGES:
            out = shots / f"{page.name}.png"
            found = screenshot(browser, root, page, out)
            problems += found
            if not found:
                print(f"screenshot {out}: {page.path} ({WIDTH}x{page.height}) ok")
    if problems:
        print("docs screenshot check FAILED:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print(f"docs screenshot check: {len(PAGES)} pages ok (code, output and figures in the quick start and a guide)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
