"""What a student produced, made inert for the feedback page: HTML through an allowlist, outputs reduced to kinds
a browser cannot run.

A feedback page is opened by the student (and its HTML may be opened by the instructor), so nothing a submission
wrote may execute or restyle it: no ``<script>``, no ``<style>`` or ``style=``, no event handler (``onerror=``), no
``javascript:`` URL, no ``<iframe>``/``<object>``/``<embed>``/``<form>``, no ``class``/``id`` (a student's
``<div class="panel-heading">Score: 22 / 22</div>`` would borrow the page's own score styling). HTML is cleaned
with `nh3 <https://nh3.readthedocs.io>`_ (Python bindings to ammonia, the Rust sanitiser that parses HTML the way
browsers do, html5ever; maintained, fast, allowlist-only). nbconvert's own ``clean_html`` uses bleach, which its
maintainers deprecated in 2023 and which keeps ``style`` attributes through a CSS sanitiser: too permissive for a
page whose whole point is a score.

Outputs keep only ``text/plain``, ``image/png`` and ``image/jpeg`` (base64 checked, so the data cannot close the
``src`` attribute it is written into) and ``text/html`` (cleaned). SVG (which can hold scripts), JavaScript,
Markdown and LaTeX outputs (rendered raw or by MathJax), widgets, PDFs and anything unknown fall back to their
``text/plain`` form, or a one-line notice.
"""
from __future__ import annotations

import re

import nh3
from nbformat.notebooknode import NotebookNode

TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "ins", "kbd", "li", "ol", "p", "pre", "s", "small", "span",
    "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
}
ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"},
              "abbr": {"title"}}
URL_SCHEMES = {"http", "https", "mailto"}
KEPT_MIME = ("text/plain", "text/html", "image/png", "image/jpeg")
_BASE64 = re.compile(r"^[A-Za-z0-9+/=\s]*$")
DROPPED_NOTICE = "[output of type {kinds} not shown in feedback]"


def clean(html: str) -> str:
    """``html`` through the allowlist: tags, attributes and URL schemes above; script and style contents go."""
    return nh3.clean(html, tags=TAGS, clean_content_tags={"script", "style"}, attributes=ATTRIBUTES,
                     url_schemes=URL_SCHEMES, link_rel="noopener noreferrer", strip_comments=True)


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def inert_output(output: NotebookNode) -> NotebookNode:
    """One cell output with nothing a browser would run or style (see the module docstring)."""
    if output.get("output_type") not in ("display_data", "execute_result"):
        return output  # stream and error outputs are rendered as escaped text
    data = output.get("data", {})
    kept = {}
    for mime in KEPT_MIME:
        if mime not in data:
            continue
        value = _text(data[mime])
        if mime == "text/html":
            value = clean(value)
        elif mime.startswith("image/") and not _BASE64.match(value):
            continue
        kept[mime] = value
    dropped = sorted(set(data) - set(kept))
    if dropped and not kept:
        kept["text/plain"] = DROPPED_NOTICE.format(kinds=", ".join(m[:60] for m in dropped))
    new = NotebookNode(output_type=output["output_type"], data=kept, metadata={})
    if output["output_type"] == "execute_result":
        new["execution_count"] = output.get("execution_count")
    return new
