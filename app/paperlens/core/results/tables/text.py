"""Plain text from what the model wrote: an inline token's children, and HTML fragments that are not tables."""

from __future__ import annotations

from collections.abc import Iterable
from html.parser import HTMLParser

from markdown_it.token import Token


def inline_text(children: Iterable[Token] | None) -> str:
    """The plain text of an inline token's children: emphasis marks dropped, code and math kept (math with its $)."""
    parts: list[str] = []
    for tok in children or ():
        t = tok.type
        if t in ("text", "text_special", "code_inline"):
            parts.append(tok.content)
        elif t == "math_inline":
            parts.append(f"${tok.content}$")
        elif t == "math_inline_double":
            parts.append(f"$${tok.content}$$")
        elif t == "softbreak":
            parts.append(" ")
        elif t == "hardbreak":
            parts.append("\n")
        elif t == "image":
            parts.append(inline_text(tok.children))
        elif t == "html_inline" and tag_name(tok.content) == "br":
            parts.append("\n")
    return "".join(parts)


def tag_name(fragment: str) -> str:
    """The tag name of an HTML fragment like "<br/>" or "</sup>" ("" when it is not a tag)."""
    s = fragment.strip()
    if not s.startswith("<"):
        return ""
    s = s[1:].lstrip("/")
    name = []
    for ch in s:
        if ch.isalnum():
            name.append(ch)
        else:
            break
    return "".join(name).lower()


def html_to_text(fragment: str) -> str:
    """The text of an HTML fragment that is not a table: tags dropped, <br> and block ends as line breaks."""
    parser = _TextParser()
    try:
        parser.feed(fragment)
        parser.close()
    except Exception:  # html.parser is lenient, but a fragment must never stop an export
        return fragment
    lines = ["".join(line).strip() for line in parser.lines]
    return "\n".join(" ".join(line.split()) for line in lines if line.strip())


BLOCK_TAGS = {
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "blockquote",
    "pre",
    "section",
}
SKIP_TAGS = {"script", "style", "head", "title", "template"}


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[list[str]] = [[]]
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIP_TAGS:
            self.skip += 1
        elif tag == "br" or tag in BLOCK_TAGS:
            self.lines.append([])
        elif tag in ("td", "th"):
            self.lines[-1].append(" ")

    def handle_endtag(self, tag):
        if tag in SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
        elif tag in BLOCK_TAGS:
            self.lines.append([])

    def handle_data(self, data):
        if not self.skip:
            self.lines[-1].append(data)
