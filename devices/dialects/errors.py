"""The error of a dialect file that cannot be used: it names the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

Loc = tuple[str | int, ...]


class DialectError(ValueError):
    """A dialect file that does not load or does not compile."""

    def __init__(self, message: str, *, loc: Loc = (), file: Path | str | None = None,
                 line: int | None = None) -> None:
        self.message = message
        self.loc = loc
        self.file = str(file) if file is not None else None
        self.line = line
        super().__init__(str(self))

    @property
    def field(self) -> str:
        """The dotted path of the field at fault (`messages.0.fields.lat`)."""
        return ".".join(str(p) for p in self.loc) or "(file)"

    def __str__(self) -> str:
        where = self.file or "<dialect>"
        if self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.field}: {self.message}"

    def located(self, file: Path | str, line: int | None) -> DialectError:
        """The same error with its file and line."""
        return DialectError(self.message, loc=self.loc, file=file, line=line)
