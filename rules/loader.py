"""Reading rule files: YAML → pydantic models, with errors naming file, rule and field."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from devices.yaml_text import load_yaml
from rules.conditions import DECLARED as CONDITION_KINDS
from rules.errors import RuleError, RuleSetError
from rules.model import Inhibition, Rule, RuleFile, Zone
from rules.system import SYSTEM_RULES

PACK_DIR = Path(__file__).resolve().parent / "packs"
_CONDITION_TYPES = frozenset(d.type for d in CONDITION_KINDS)


@dataclass
class RuleSet:
    """Every rule, zone and inhibition to run, and the file each rule came from."""

    rules: list[Rule] = field(default_factory=list)
    zones: dict[str, Zone] = field(default_factory=dict)
    inhibitions: list[Inhibition] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # rule id → file

    def get(self, rule_id: str) -> Rule | None:
        """A rule by id (system rules included)."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        return SYSTEM_RULES.get(rule_id)


def rule_files(*, pack: bool, extra_dir: Path | None) -> list[Path]:
    """The built-in pack's files (when enabled), then the operator's, each sorted by name."""
    files: list[Path] = []
    if pack:
        files += sorted(PACK_DIR.glob("*.yaml"))
    if extra_dir is not None:
        if not extra_dir.is_dir():
            raise RuleSetError([RuleError(str(extra_dir), None, "rules.extra_dir",
                                          "not a directory")])
        files += sorted([*extra_dir.glob("*.yaml"), *extra_dir.glob("*.yml")])
    return files


def load_rules(files: list[Path], known_kinds: tuple[str, ...]) -> RuleSet:
    """Parse and validate every file; raise RuleSetError listing every problem found."""
    errors: list[RuleError] = []
    ruleset = RuleSet()
    for path in files:
        parsed = _parse(path, errors)
        if parsed is None:
            continue
        for rule in parsed.rules:
            if rule.id in ruleset.files or rule.id in SYSTEM_RULES:
                where = ruleset.files.get(rule.id, "built-in system rules")
                errors.append(RuleError(str(path), rule.id, "id", f"already defined in {where}"))
                continue
            wanted = [rule.kind] if isinstance(rule.kind, str) else rule.kind
            unknown = [k for k in wanted if k != "*" and k not in known_kinds]
            if unknown:
                errors.append(RuleError(str(path), rule.id, "kind",
                                        f"unknown device kind(s) {unknown}; known: "
                                        f"{list(known_kinds)}"))
                continue
            ruleset.files[rule.id] = str(path)
            ruleset.rules.append(rule)
        for zone in parsed.zones:
            if zone.name in ruleset.zones:
                errors.append(RuleError(str(path), None, f"zones.{zone.name}",
                                        "zone defined twice"))
            ruleset.zones[zone.name] = zone
        for inh in parsed.inhibitions:
            ruleset.inhibitions.append(inh)
            ruleset.files[f"inhibition:{inh.id}"] = str(path)
    for inh in ruleset.inhibitions:
        path = ruleset.files[f"inhibition:{inh.id}"]
        for name in ("source_rules", "target_rules"):
            for rule_id in getattr(inh, name):
                if ruleset.get(rule_id) is None:
                    errors.append(RuleError(path, None, f"inhibitions.{inh.id}.{name}",
                                            f"unknown rule {rule_id!r}"))
    if errors:
        raise RuleSetError(errors)
    return ruleset


def _parse(path: Path, errors: list[RuleError]) -> RuleFile | None:
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(RuleError(str(path), None, "file", f"cannot read: {exc}"))
        return None
    except yaml.YAMLError as exc:
        errors.append(RuleError(str(path), None, "yaml", str(exc).replace("\n", " ")))
        return None
    if raw is None:
        return RuleFile()
    if not isinstance(raw, dict):
        errors.append(RuleError(str(path), None, "file",
                                "expected a mapping with rules / zones / inhibitions"))
        return None
    try:
        return RuleFile.model_validate(raw)
    except ValidationError as exc:
        errors.extend(_explain(path, raw, exc))
        return None


def _explain(path: Path, raw: dict[str, Any], exc: ValidationError) -> list[RuleError]:
    """One RuleError per pydantic error, naming the rule by id and the field by path."""
    found = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = list(err["loc"])
        rule_id = None
        section = loc[0] if loc else ""
        if len(loc) >= 2 and isinstance(loc[1], int):
            items = raw.get(str(section)) or []
            item = items[loc[1]] if loc[1] < len(items) else None
            name = item.get("id") or item.get("name") if isinstance(item, dict) else None
            if section == "rules":
                rule_id = str(name) if name else f"#{loc[1] + 1} (no id)"
                loc = loc[2:]
            else:
                loc = [section, name or f"#{loc[1] + 1}", *loc[2:]]
        # Drop the discriminator tags pydantic puts in the path (condition.duration.for_s).
        parts = [str(p) for i, p in enumerate(loc)
                 if not (i > 0 and p in _CONDITION_TYPES and loc[i - 1] == "condition")]
        found.append(RuleError(str(path), rule_id, ".".join(parts) or "file", err["msg"]))
    return found
