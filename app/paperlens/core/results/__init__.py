"""The results side: what the model wrote, read and written out.

`markdown` is the one Markdown dialect (parser and HTML); `tables` finds the tables in a page's Markdown and
`blocks` flattens it for Word and text; `export` writes a document in every format through its format registry.
"""
