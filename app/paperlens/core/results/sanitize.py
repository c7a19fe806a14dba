"""One sanitiser for everything the model writes that ends up as HTML: the window's views and the HTML export.

The model's output comes from a scanned page, which anyone can write. Whatever it says, what PaperLens draws or
writes must not run a script or load anything from disk or the network: a `<script>`, an `<img src="/dev/zero">`, an
`<img src=\\\\host\\share>` or a Markdown image pointing at a FIFO would otherwise be fetched by Qt on the GUI thread
(a hang that comes back every time the cached result is shown) or by whoever opens the exported file. So: only
harmless formatting tags pass, without any attribute; the content of script-like tags is dropped; everything else is
escaped. Images are never loaded: an `<img>` becomes its alt text, as Markdown images do in the dialect
(`results.markdown`), so an exported file fetches nothing even where its Content-Security-Policy is ignored (Word, mail
clients).
"""

from __future__ import annotations

import html

_INLINE_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "s",
    "del",
    "sup",
    "sub",
    "br",
    "code",
    "mark",
    "small",
    "span",
}
_BLOCK_TAGS = {"p", "div", "ul", "ol", "li", "blockquote", "pre", "hr", "h1", "h2", "h3", "h4", "h5", "h6"}
_DROP_CONTENT = {
    "script",
    "style",
    "iframe",
    "object",
    "embed",
    "template",
    "noscript",
    "svg",
    "math",
    "head",
}


class _Sanitizer:
    """Lets through the model's harmless formatting tags, without attributes; drops everything else.

    The model's output comes from a scanned page, which anyone can write: an exported HTML file must not run a
    script or load anything from the network because a document said `<script>` or `<img src=...>`.
    """

    def __init__(self, allowed: set[str]) -> None:
        from html.parser import HTMLParser

        outer = self

        class _P(HTMLParser):
            def handle_starttag(self, tag, attrs):
                outer._start(tag, attrs)

            def handle_startendtag(self, tag, attrs):
                outer._start(tag, attrs)

            def handle_endtag(self, tag):
                outer._end(tag)

            def handle_data(self, data):
                if not outer.drop:
                    outer.out.append(html.escape(data))

        self.allowed = allowed
        self.out: list[str] = []
        self.drop = 0
        self.parser = _P(convert_charrefs=True)

    def _start(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP_CONTENT:
            self.drop += 1
        elif tag == "img" and not self.drop:
            # never loaded (Word and mail clients ignore the export's CSP): its alt text, as Markdown images get
            alt = " ".join((dict(attrs).get("alt") or "").split())
            if alt:
                self.out.append(html.escape(f"[{alt}]"))
        elif not self.drop and tag in self.allowed:
            self.out.append(f"<{tag}>")

    def _end(self, tag: str) -> None:
        if tag in _DROP_CONTENT:
            self.drop = max(0, self.drop - 1)
        elif not self.drop and tag in self.allowed and tag not in ("br", "hr"):
            self.out.append(f"</{tag}>")

    def run(self, fragment: str) -> str:
        try:
            self.parser.feed(fragment)
            self.parser.close()
        except Exception:
            return html.escape(fragment)
        return "".join(self.out)


def sanitize_html(fragment: str, *, inline: bool = False) -> str:
    """Only the harmless formatting tags of `fragment`, without attributes; everything else dropped or escaped."""
    return _Sanitizer(_INLINE_TAGS if inline else _INLINE_TAGS | _BLOCK_TAGS).run(fragment)
