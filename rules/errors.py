"""Errors of rule loading and alert operations, carrying the file, rule and field they concern."""

from __future__ import annotations


class RuleError(ValueError):
    """One problem in a rule file: which file, which rule, which field, and what is wrong."""

    def __init__(self, file: str, rule_id: str | None, field: str, message: str) -> None:
        self.file = file
        self.rule_id = rule_id
        self.field = field
        self.message = message
        rule = f"rule {rule_id!r}" if rule_id else "file"
        super().__init__(f"{file}: {rule}: field {field!r}: {message}")


class RuleSetError(ValueError):
    """Rule files that cannot be loaded; the gateway refuses to start half-configured."""

    def __init__(self, errors: list[RuleError]) -> None:
        self.errors = errors
        lines = "\n".join(f"  - {e}" for e in errors)
        super().__init__(f"{len(errors)} invalid rule definition(s):\n{lines}")


class AlertError(LookupError):
    """An alert operation that cannot be done (unknown id, already cleared)."""
