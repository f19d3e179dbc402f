"""Workflow configuration: the category catalogue, SLAs, the duty rota, the 12345 channel."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, model_validator

from devices.yaml_text import load_yaml

Priority = Literal["urgent", "high", "normal", "low"]
PRIORITIES: tuple[Priority, ...] = ("urgent", "high", "normal", "low")
Department = Literal["police", "fire", "medical", "property", "city_management"]
DEFAULT_CATEGORIES = Path(__file__).with_name("categories.yaml")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WorkflowConfigError(ValueError):
    """A catalogue or rota file that cannot be used, naming the file."""


class Sla(_Model):
    """Time limits of one priority, in seconds."""

    dispatch_s: int = Field(gt=0, description="From collected to dispatched")
    accept_s: int = Field(gt=0, description="From dispatched (or escalated) to accepted")
    resolve_s: int = Field(gt=0, description="From collected to feedback (result reported)")


class Category(_Model):
    """One ticket category with zh/en names and routing facts."""

    key: str = Field(pattern=r"^[a-z_]+$", description="Stable identifier")
    zh: str = Field(description="Chinese name shown to users")
    en: str = Field(description="English name")
    priority: Priority = Field(description="Default priority of new tickets")
    critical: bool = Field(False, description="Notify the control room and family at once")
    big_matter: bool = Field(False, description="Hand to the district 12345 channel")
    department: Department = Field(description="Default department for 吹哨报到")
    sla: dict[Priority, Sla] | None = Field(None, description="Overrides of the default SLAs")


class Catalogue(_Model):
    """The category catalogue file."""

    defaults: dict[Literal["sla"], dict[Priority, Sla]] = Field(description="Default SLAs")
    categories: list[Category] = Field(description="Categories")

    @model_validator(mode="after")
    def _complete(self) -> Catalogue:
        missing = set(PRIORITIES) - set(self.defaults["sla"])
        if missing:
            raise ValueError(f"defaults.sla lacks priorities {sorted(missing)}")
        keys = [c.key for c in self.categories]
        if len(keys) != len(set(keys)):
            raise ValueError("category keys repeat")
        if "other" not in keys:
            raise ValueError("a category 'other' is required (unknown alert categories go there)")
        return self

    def get(self, key: str) -> Category:
        """The category `key`, or `other`."""
        for category in self.categories:
            if category.key == key:
                return category
        return self.get("other")

    def category_keys(self) -> list[str]:
        """All category keys."""
        return [c.key for c in self.categories]

    def sla(self, category: Category, priority: Priority) -> Sla:
        """The SLA for a category at a priority."""
        if category.sla and priority in category.sla:
            return category.sla[priority]
        return self.defaults["sla"][priority]


class Shift(_Model):
    """A grid worker's duty window."""

    worker: str = Field(description="Username of the grid worker")
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=lambda: list(WEEKDAYS), description="Weekdays on duty"
    )
    start: time = Field(time(0, 0), description="Local start time")
    end: time = Field(time(23, 59, 59), description="Local end time (before start: overnight)")

    def covers(self, local: datetime) -> bool:
        """Whether this shift is on duty at a local time."""
        t = local.time()
        day = WEEKDAYS[local.weekday()]
        if self.start <= self.end:
            return day in self.days and self.start <= t <= self.end
        # Overnight: the part after midnight belongs to the previous day's shift.
        yesterday = WEEKDAYS[(local.weekday() - 1) % 7]
        return (day in self.days and t >= self.start) or (yesterday in self.days and t <= self.end)


class Rota(_Model):
    """Who is on duty for each grid; anything unmatched goes to the control-room queue."""

    grids: dict[str, list[Shift]] = Field(default_factory=dict, description="Grid → shifts")
    control_room: str = Field("control_room", description="Queue name of the control room")
    escalation_chain: list[str] = Field(
        default_factory=lambda: ["grid_worker", "community_lead", "street_office"],
        description="Who a breached SLA escalates to, level by level",
    )


class WorkflowSettings(_Model):
    """Settings of the request workflow."""

    categories_file: Path = Field(DEFAULT_CATEGORIES, description="Ticket category catalogue")
    rota_file: Path | None = Field(None, description="YAML duty rota (grids → shifts)")
    hotline_url: HttpUrl | None = Field(
        None, description="12345 channel webhook; unset keeps transfers pending in the outbox"
    )
    hotline_timeout_s: float = Field(5.0, gt=0, description="HTTP timeout per delivery")
    outbox_retry_first_s: float = Field(10.0, gt=0, description="First retry delay")
    outbox_retry_max_s: float = Field(1800.0, gt=0, description="Retry delay ceiling")
    outbox_max_attempts: int = Field(50, ge=1, description="Attempts before `failed`")
    reminder_days: int = Field(30, ge=0, description="Open a reminder this many days ahead")
    tick_s: float = Field(30.0, gt=0, description="How often SLAs and reminders are checked")
    close_acknowledges_alert: bool = Field(
        True, description="Closing a ticket (closed, rejected or marked a duplicate) "
        "acknowledges its open alerts, so that the next urgent press pages and opens a new job"
    )
    ticket_grace_s: dict[str, float] = Field(
        {"minor": 300.0, "info": 300.0},
        description="Per alert severity: a ticket is opened only if the alert is still open "
        "this many seconds after it was raised (checked every `tick_s`), so a reading that "
        "dips once gives nobody a job; the alert itself shows at once. Severities not "
        "listed (critical, major) open their ticket at once",
    )
    group_window_s: float = Field(
        600.0, ge=0,
        description="An alert about a resident joins the open ticket another alert about the "
        "same resident and category opened this many seconds before or less (one fall seen by "
        "the band and by the bathroom radar is one job, not two); the alerts stay separate. "
        "0 turns grouping off",
    )


def load_catalogue(path: Path) -> Catalogue:
    """Read and validate a category catalogue file."""
    try:
        return Catalogue.model_validate(load_yaml(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise WorkflowConfigError(f"{path}: {exc}") from exc


def load_rota(path: Path | None) -> Rota:
    """Read and validate a rota file (an empty rota when none is configured)."""
    if path is None:
        return Rota()
    try:
        return Rota.model_validate(load_yaml(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise WorkflowConfigError(f"{path}: {exc}") from exc
