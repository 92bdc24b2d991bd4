"""The HTML reports: each executed notebook as a page that reads as a paper, and ``index.html`` linking them.

A page is nbconvert's ``lab`` HTML with every code cell's input folded (``<details>``: one click away), cells
tagged ``remove-cell``/``remove-input``/``remove-output`` trimmed (nbconvert's ``TagRemovePreprocessor``), a
contents list built from the page's own headings, and links to the index and the previous and next reports.
Everything is local: nothing is fetched while building.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor

from .. import files

TEMPLATES = Path(__file__).parent / "templates"
INDEX = "index.html"
REPORT_NAME = re.compile(r"^\d\d_\w+$")
HEADING = re.compile(r'<h([1-3]) id="([^"]+)"[^>]*>(.*?)</h\1>', re.S)


def report_stems(reports: Path) -> list[str]:
    """The executed reports in ``reports`` (``NN_name.ipynb``), in order."""
    return sorted(p.stem for p in reports.glob("[0-9][0-9]_*.ipynb") if REPORT_NAME.match(p.stem))


def _exporter() -> HTMLExporter:
    exporter = HTMLExporter(template_name="digits", extra_template_basedirs=[str(TEMPLATES)])
    exporter.register_preprocessor(
        TagRemovePreprocessor(
            remove_cell_tags={"remove-cell"},
            remove_input_tags={"remove-input"},
            remove_all_outputs_tags={"remove-output"},
        ),
        enabled=True,
    )
    return exporter


def _text(fragment: str) -> str:
    """The visible text of an HTML fragment (tags and the anchor link's pilcrow removed)."""
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).replace("¶", "").strip()


def contents(page: str) -> list[tuple[int, str, str]]:
    """``(level, anchor, title)`` of the page's headings of levels 2 and 3, in order."""
    return [(int(level), anchor, _text(inner)) for level, anchor, inner in HEADING.findall(page) if level != "1"]


def _navigation(stem: str, stems: list[str], page: str) -> str:
    """The bar above a report: the index, the previous and next reports, and the page's contents."""
    links = [f'<a href="{INDEX}">All reports</a>']
    if stem in stems:
        i = stems.index(stem)
        if i > 0:
            links.append(f'<a href="{stems[i - 1]}.html">← {stems[i - 1]}</a>')
        if i + 1 < len(stems):
            links.append(f'<a href="{stems[i + 1]}.html">{stems[i + 1]} →</a>')
    items = "".join(
        f'<li class="level-{level}"><a href="#{anchor}">{html.escape(title)}</a></li>'
        for level, anchor, title in contents(page)
    )
    toc = f"<details open><summary>Contents</summary><ul>{items}</ul></details>" if items else ""
    return f'<nav class="digits-nav"><div class="digits-pager">{" ".join(links)}</div>{toc}</nav>'


def notebook_page(executed: Path, stems: list[str] | None = None) -> str:
    """The HTML page of the executed notebook ``executed``; ``stems``: every report, for the links between them."""
    page, _ = _exporter().from_notebook_node(nbformat.read(executed, as_version=4))
    return page.replace("<main>", "<main>" + _navigation(executed.stem, stems or [executed.stem], page), 1)


def index_page(reports: Path) -> str:
    """``index.html``: the headline table, each notebook linking to its report, and the list of every report."""
    from . import headline, leaderboard, regeneration  # leaderboard imports this module

    stems = report_stems(reports)
    table = headline.headline_table([m for m in leaderboard.load_metrics(reports) if "notebook" in m])
    if not table.empty:
        table["notebook"] = [
            f'<a href="{s}.html">{html.escape(s)}</a>' if s in stems else html.escape(s) for s in table["notebook"]
        ]
        for column in table.columns[1:]:
            table[column] = table[column].map(html.escape)
        headline_html = table.to_html(index=False, escape=False, border=0, classes="headline")
    else:
        headline_html = "<p>No results yet: run <code>make reports</code>.</p>"
    items = "".join(f'<li><a href="{s}.html">{html.escape(s)}</a> (<a href="{s}.ipynb">notebook</a>)</li>' for s in stems)
    timing = html.escape(regeneration.summary(reports).replace("**", "").replace("`", ""))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>digits — reports</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 16px; line-height: 1.45; }}
table.headline {{ border-collapse: collapse; font-size: 0.92em; }}
table.headline th, table.headline td {{ border-bottom: 1px solid #ddd; padding: 6px 8px; text-align: left;
  vertical-align: top; }}
caption {{ caption-side: bottom; color: #555; padding-top: 6px; text-align: left; }}
</style></head>
<body>
<h1>digits — reports</h1>
<p>Each notebook of <code>notebooks/</code>, executed by <code>make reports</code>: a question, how it was answered,
the results and a discussion. Code is folded in each report; click <em>code</em> to see it.</p>
<h2>Headline results</h2>
{headline_html}
<p><em>Every figure above was measured by the notebook it links to; the full tables are in
<a href="README.md">README.md</a>.</em></p>
<h2>Reports</h2>
<ol>{items}</ol>
<p>{timing}</p>
</body></html>
"""


def write_index(reports: Path) -> Path:
    return files.write_text(reports / INDEX, index_page(reports))


def build(reports: Path) -> list[Path]:
    """Rebuild every report's page and the index from the executed notebooks in ``reports``."""
    stems = report_stems(reports)
    written = [files.write_text(reports / f"{s}.html", notebook_page(reports / f"{s}.ipynb", stems)) for s in stems]
    return [*written, write_index(reports)]
