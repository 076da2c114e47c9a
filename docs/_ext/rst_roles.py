"""A Griffe extension: show the docstrings' reST roles as Markdown code.

The docstrings follow numpydoc, whose cross-references are Sphinx roles
(``:class:`~threadworker.FunctionWorker```) and whose literal blocks open with
``::``. mkdocstrings renders Markdown, where both would show as typed; this
turns a role into inline code (``~`` keeps the last name, as Sphinx does) and
a closing ``::`` into ``:`` (the indented block below is code in Markdown too).
The source keeps the numpydoc form, which IDEs and ``help()`` show as is.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|exc|data|mod|obj):`(~?)([^`]+)`")
LITERAL = re.compile(r"::$", flags=re.MULTILINE)


def to_markdown(text: str) -> str:
    """Rewrite reST roles and literal-block markers in *text* as Markdown."""

    def code(match: re.Match[str]) -> str:
        short, target = match.groups()
        return f"`{target.rsplit('.', 1)[-1] if short else target}`"

    return LITERAL.sub(":", ROLE.sub(code, text))


class RstRoles(griffe.Extension):
    """Rewrite every loaded docstring with :func:`to_markdown`."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """Rewrite the package's docstring (``on_object`` sees only members)."""
        self.on_object(obj=pkg)

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite the docstring of *obj*, once the object tree is complete."""
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
