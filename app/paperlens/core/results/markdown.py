"""The one Markdown dialect PaperLens reads and draws: CommonMark + pipe tables + strikethrough + $ math, HTML allowed.

Everything that reads the model's Markdown goes through here: the table reader (`tables`, `blocks`), every export,
and the window's Markdown, Ask and Tables views. One set-up means a formula, a table or a struck-out word reads the
same on screen as in a file.

Math matters for more than display: without the math rule, `$a_1 + b_1$` would lose its underscores to emphasis.
Spaces right inside the dollars and digits right after the closing one are not math, so prices such as "$5 and $6"
stay text (Pandoc's rule).

HTML is drawn from `tables.parse_blocks`, so every table (pipe or HTML) is rebuilt from its grid by `Table.to_html`;
formulas keep their LaTeX between \\( \\) and \\[ \\] (readable as is, and what MathJax or KaTeX look for). Other raw
HTML always goes through `results.sanitize` (formatting tags only, no attributes) and images are drawn as their alt
text: the window and the HTML export never fetch anything a page told them to.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.dollarmath import dollarmath_plugin

from paperlens.core.results.sanitize import sanitize_html

# token type of a folded table in `tables.parse_blocks` output; `token.meta["table"]` holds the `Table`
TABLE_TOKEN = "paperlens_table"


@lru_cache(maxsize=1)
def parser() -> MarkdownIt:
    """The dialect's markdown-it instance (built once; parsing and the render rules below)."""
    md = MarkdownIt("commonmark", {"html": True})
    md.enable(["table", "strikethrough"])
    md.use(dollarmath_plugin, allow_space=False, allow_digits=False, double_inline=True)

    def table_rule(self, tokens, idx, options, env):
        return tokens[idx].meta["table"].to_html() + "\n"

    def html_block_rule(self, tokens, idx, options, env):
        return sanitize_html(tokens[idx].content) + "\n"

    def html_inline_rule(self, tokens, idx, options, env):
        return sanitize_html(tokens[idx].content, inline=True)

    def image_rule(self, tokens, idx, options, env):
        # never a resource to fetch: the alt text, marked as an image
        alt = "".join(t.content for t in (tokens[idx].children or [])) or "image"
        return f'<span class="image">[{html.escape(alt)}]</span>'

    def math_inline_rule(self, tokens, idx, options, env):
        return f'<span class="math">\\({html.escape(tokens[idx].content)}\\)</span>'

    def math_block_rule(self, tokens, idx, options, env):
        return f'<div class="math">\\[{html.escape(tokens[idx].content.strip())}\\]</div>\n'

    md.add_render_rule(TABLE_TOKEN, table_rule)
    for name in ("math_inline", "math_inline_double"):
        md.add_render_rule(name, math_inline_rule)
    for name in ("math_block", "math_block_label"):
        md.add_render_rule(name, math_block_rule)
    md.add_render_rule("html_block", html_block_rule)
    md.add_render_rule("html_inline", html_inline_rule)
    md.add_render_rule("image", image_rule)
    return md


def tokens(markdown: str) -> list[Token]:
    """markdown-it's block tokens for `markdown` in this dialect (tables not folded; see `tables.parse_blocks`)."""
    return parser().parse(markdown)


def tokens_to_html(block_tokens: Sequence[Token]) -> str:
    """Draws block tokens (folded tables included) as a safe HTML fragment."""
    md = parser()
    return md.renderer.render(block_tokens, md.options, {})


def markdown_to_html(markdown: str) -> str:
    """One page's Markdown as a safe HTML fragment: tables rebuilt from their grids, math as \\( \\) / \\[ \\], raw
    HTML sanitised, images as their alt text."""
    from paperlens.core.results.tables import parse_blocks  # tables builds on this module

    return tokens_to_html(parse_blocks(markdown))
