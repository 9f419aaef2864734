"""Problem reports for catalog files: what is wrong, where, and what the owner should do."""

from __future__ import annotations

from dataclasses import dataclass, field

# A position in the catalog data, as pydantic reports it: ("products", 3, "variants", 0, "price").
Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class CatalogProblem:
    """One mistake in a catalog file, worded for the shop owner who has to fix it."""

    file: str
    line: int | None
    field: str
    message: str
    suggestion: str = ""

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}, line {self.line}"
        text = f"{where}: {self.field}: " if self.field else f"{where}: "
        text += self.message
        return f"{text} {self.suggestion}" if self.suggestion else text


class CatalogError(Exception):
    """The catalog file could not be used; `problems` lists every mistake found, in file order."""

    def __init__(self, problems: list[CatalogProblem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        label = "problem" if count == 1 else "problems"
        files = ", ".join(dict.fromkeys(p.file for p in self.problems)) or "the catalog"
        lines = "\n".join(str(p) for p in self.problems)
        super().__init__(f"{count} {label} in {files}:\n{lines}")


@dataclass
class RawCatalog:
    """A parsed but not yet validated catalog file: plain data plus where each piece came from.

    Both the YAML and the CSV reader produce this, so validation and cross-checks are shared.
    `data` holds dicts, lists, strings and None only (numbers stay text until pydantic reads them,
    so "7.50" is never rounded through a float); it is None when the file could not be parsed.
    """

    file: str
    data: object
    lines: dict[Loc, int] = field(default_factory=dict)
    problems: list[CatalogProblem] = field(default_factory=list)
    # CSV problems name the spreadsheet column instead of a YAML-style path.
    columns: bool = False

    def line_for(self, loc: Loc) -> int | None:
        """The line of `loc`, or of its nearest enclosing piece when `loc` itself is not written."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(loc[:end])
            if line is not None:
                return line
        return None

    def problem(self, line: int | None, field_name: str, message: str, suggestion: str) -> None:
        self.problems.append(CatalogProblem(self.file, line, field_name, message, suggestion))
