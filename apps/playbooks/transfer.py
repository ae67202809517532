"""Reusing playbooks: clone one as a draft, export a published version as a JSON file,
import such a file as a draft (here or on another installation).

The file names its format and format version. An import checks everything a publish
would (kinds and their configs, templates, conditions, references between steps, cycles,
trigger, filters, cancel events) plus the file's own shape, lists every problem keyed by
field, and creates nothing unless there is none.
"""

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from apps.core import clock
from apps.core.errors import Conflict, ValidationFailed
from apps.core.step_kinds import StepDefinition
from apps.playbooks.models import Playbook, PlaybookStep, PlaybookVersion
from apps.playbooks.services import playbook_settings_problems, playbook_steps_problems

FORMAT = "afterwin.playbook"
FORMAT_VERSION = 1
SUPPORTED_FORMAT_VERSIONS = (1,)
MAX_FILE_BYTES = 256 * 1024
MAX_STEPS = 100

Problems = dict[str, list[str]]

_NAME_MAX = Playbook._meta.get_field("name").max_length
_STEP_NAME_MAX = PlaybookStep._meta.get_field("name").max_length
_KEY = re.compile(r"^[-a-zA-Z0-9_]{1,64}$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_PLAYBOOK_FIELDS = (
    "name",
    "description",
    "trigger",
    "filters",
    "cancel_on",
    "enrollment_policy",
    "account_cooldown_days",
    "steps",
)
# A step in a file, a version's snapshot and a draft step have the same fields.
_STEP_FIELDS = tuple(StepDefinition(key="k", name="n", kind="k").as_snapshot())


# Export ------------------------------------------------------------------------------


def playbook_export(*, version: PlaybookVersion) -> dict[str, Any]:
    """A published version as a self-contained document: the version's trigger, filters,
    cancel rules and steps, with the playbook's name, description and enrollment policy."""
    playbook = version.playbook
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": clock.now().isoformat(timespec="seconds"),
        "source": {"playbook": playbook.name, "version": version.number},
        "playbook": {
            "name": playbook.name,
            "description": playbook.description,
            "trigger": version.trigger,
            "filters": version.filters,
            "cancel_on": version.cancel_on,
            "enrollment_policy": playbook.enrollment_policy,
            "account_cooldown_days": playbook.account_cooldown_days,
            "steps": version.steps,
        },
    }


def export_filename(version: PlaybookVersion) -> str:
    slug = slugify(version.playbook.name)[:80] or "playbook"
    return f"{slug}-v{version.number}.json"


def export_bytes(version: PlaybookVersion) -> bytes:
    document = playbook_export(version=version)
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode()


# Reading a file ----------------------------------------------------------------------


class _DuplicateKeys(ValueError):
    pass


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads would keep the last of two equal keys silently; a file that says a
    # thing twice is ambiguous, so it is refused.
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKeys(f"The key “{key}” appears twice in one object.")
        seen[key] = value
    return seen


def _parse(data: bytes) -> tuple[Any, Problems]:
    if not data:
        return None, {"file": ["The file is empty."]}
    if len(data) > MAX_FILE_BYTES:
        return None, {
            "file": [
                f"The file is {len(data):,} bytes; a playbook file is at most "
                f"{MAX_FILE_BYTES:,} bytes."
            ]
        }
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, {"file": ["The file is not UTF-8 text; export a playbook to get one."]}
    try:
        return json.loads(text, object_pairs_hook=_refuse_duplicate_keys), {}
    except _DuplicateKeys as exc:
        return None, {"file": [str(exc)]}
    except json.JSONDecodeError as exc:
        return None, {"file": [f"Not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."]}
    except RecursionError:
        return None, {"file": ["Not a playbook file: the JSON is nested too deeply."]}


def _whole_number(value: Any, *, minimum: int, allow_none: bool) -> bool:
    if value is None:
        return allow_none
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _step_problems(index: int, step: Any) -> tuple[str, dict[str, Any] | None, Problems]:
    """The shape of one step: its label for messages, the step with defaults filled in
    (None if it is not an object), and problems keyed ``<label>.<field>``."""
    label = f"step {index}"
    if not isinstance(step, dict):
        return label, None, {label: ["A step must be an object with a key, a name and a kind."]}
    key = step.get("key")
    if isinstance(key, str) and _KEY.match(key):
        label = key
    problems: Problems = {}

    def add(field: str, message: str) -> None:
        problems.setdefault(f"{label}.{field}", []).append(message)

    for unknown in sorted(set(step) - set(_STEP_FIELDS)):
        add(unknown, f"Unknown step field “{unknown}”.")
    if not isinstance(key, str) or not _KEY.match(key):
        add("key", "A step key is 1 to 64 letters, digits, hyphens or underscores.")
    name = step.get("name")
    if not isinstance(name, str) or not name.strip():
        add("name", "Give the step a name.")
    elif len(name) > _STEP_NAME_MAX:
        add("name", f"A step name is at most {_STEP_NAME_MAX} characters.")
    if not isinstance(step.get("kind"), str) or not step.get("kind"):
        add("kind", "Name the step's kind, e.g. “task”.")
    if not isinstance(step.get("config", {}), dict):
        add("config", "The config must be an object.")
    if step.get("start", "enrollment") not in PlaybookStep.Start.values:
        add("start", f"Start is one of: {', '.join(PlaybookStep.Start.values)}.")
    if not isinstance(step.get("after_step") or "", str):
        add("after_step", "Name the step this one waits for by its key.")
    for field in ("delay_days", "delay_hours"):
        if not _whole_number(step.get(field, 0), minimum=0, allow_none=False):
            add(field, "Use a whole number, 0 or more.")
    for field in ("repeat_every_days", "repeat_max"):
        if not _whole_number(step.get(field), minimum=1, allow_none=True):
            add(field, "Use a whole number, 1 or more, or null.")
    if not isinstance(step.get("business_days", False), bool):
        add("business_days", "Use true or false.")
    for field in ("at_time", "window_start", "window_end"):
        value = step.get(field)
        if value is not None and not (isinstance(value, str) and _CLOCK.match(value)):
            add(field, "Use a time of day as HH:MM (24-hour clock), or null.")
    if not isinstance(step.get("conditions", []), list):
        add("conditions", "Conditions must be a list of rules.")
    if problems:
        return label, None, problems
    filled = {
        **step,
        "config": step.get("config") or {},
        "start": step.get("start") or PlaybookStep.Start.ENROLLMENT,
        "after_step": step.get("after_step") or "",
        "conditions": step.get("conditions") or [],
    }
    return label, filled, {}


def _merge(into: Problems, more: Problems) -> None:
    for field, messages in more.items():
        into.setdefault(field, []).extend(messages)


def playbook_file_problems(data: bytes) -> tuple[dict[str, Any] | None, Problems]:
    """Read and check a playbook file: (its ``playbook`` object, ready to create, or
    None; every problem, keyed by field). Reads the database (queues, users a step's
    config names) but writes nothing."""
    document, problems = _parse(data)
    if problems:
        return None, problems
    if not isinstance(document, dict):
        return None, {"file": ["Not a playbook file: expected a JSON object."]}
    if document.get("format") != FORMAT:
        return None, {
            "format": [f"Not a playbook file: “format” must be “{FORMAT}” (export one to see)."]
        }
    format_version = document.get("format_version")
    if format_version not in SUPPORTED_FORMAT_VERSIONS or isinstance(format_version, bool):
        supported = ", ".join(map(str, SUPPORTED_FORMAT_VERSIONS))
        return None, {
            "format_version": [
                f"Format version {format_version!r} is not one this installation reads "
                f"(it reads {supported})."
            ]
        }
    playbook = document.get("playbook")
    if not isinstance(playbook, dict):
        return None, {"playbook": ["The file has no “playbook” object."]}

    def add(field: str, message: str) -> None:
        problems.setdefault(field, []).append(message)

    for unknown in sorted(set(playbook) - set(_PLAYBOOK_FIELDS)):
        add(unknown, f"Unknown playbook field “{unknown}”.")
    name = playbook.get("name")
    if not isinstance(name, str) or not name.strip():
        add("name", "The playbook needs a name.")
    elif len(name.strip()) > _NAME_MAX:
        add("name", f"A playbook name is at most {_NAME_MAX} characters.")
    if not isinstance(playbook.get("description", ""), str):
        add("description", "The description must be text.")
    if not isinstance(playbook.get("trigger"), str):
        add("trigger", "Name the trigger, e.g. “deal.closed_won”.")
    policy = playbook.get("enrollment_policy", Playbook.Policy.ONCE_PER_DEAL)
    if policy not in Playbook.Policy.values:
        add("enrollment_policy", f"Use one of: {', '.join(Playbook.Policy.values)}.")
    if not _whole_number(playbook.get("account_cooldown_days"), minimum=0, allow_none=True):
        add("account_cooldown_days", "Use a whole number of days, 0 or more, or null.")
    if not problems.get("trigger"):
        _merge(
            problems,
            playbook_settings_problems(
                trigger=playbook["trigger"],
                filters=playbook.get("filters", {}),
                cancel_on=playbook.get("cancel_on", []),
            ),
        )

    raw_steps = playbook.get("steps")
    steps: list[dict[str, Any]] = []
    if not isinstance(raw_steps, list):
        add("steps", "The playbook needs a list of steps.")
    elif len(raw_steps) > MAX_STEPS:
        add("steps", f"The file has {len(raw_steps)} steps; a playbook has at most {MAX_STEPS}.")
    else:
        shaped = True
        for index, raw in enumerate(raw_steps, start=1):
            _, step, step_problems = _step_problems(index, raw)
            _merge(problems, step_problems)
            shaped = shaped and step is not None
            if step is not None:
                steps.append(step)
        # The whole playbook's checks (kinds, configs and their templates, conditions,
        # references, cycles) run on the steps whose shape is right, so one file's
        # problems are listed together rather than one fix at a time.
        whole = playbook_steps_problems(steps)
        if not shaped:
            whole.pop("steps", None)  # "needs at least one step": a broken one is there
        _merge(problems, whole)
    if problems:
        return None, problems
    return {**playbook, "name": name.strip(), "steps": steps}, {}


# Creating drafts ---------------------------------------------------------------------


@dataclass(frozen=True)
class ImportedPlaybook:
    playbook: Playbook
    renamed_from: str = ""  # the file's name, when a playbook already had it


def _free_name(base: str, suffix: str) -> str:
    """``base`` if no playbook has it, else ``base (suffix)``, ``base (suffix 2)``…"""
    taken = set(
        Playbook.objects.filter(name__startswith=base[: _NAME_MAX - 20]).values_list(
            "name", flat=True
        )
    )
    if base not in taken:
        return base
    number = 1
    while True:
        tail = f" ({suffix})" if number == 1 else f" ({suffix} {number})"
        candidate = base[: _NAME_MAX - len(tail)] + tail
        if candidate not in taken:
            return candidate
        number += 1


def _draft_create(*, settings: dict[str, Any], steps: list[dict[str, Any]]) -> Playbook:
    try:
        with transaction.atomic():
            playbook = Playbook.objects.create(status=Playbook.Status.DRAFT, **settings)
    except IntegrityError as exc:
        raise Conflict(
            f"A playbook named “{settings['name']}” was created meanwhile; try again.",
            {"name": [f"A playbook named “{settings['name']}” already exists."]},
        ) from exc
    PlaybookStep.objects.bulk_create(
        PlaybookStep(
            playbook=playbook,
            position=position,
            **{field: step[field] for field in _STEP_FIELDS if field in step},
        )
        for position, step in enumerate(steps, start=1)
    )
    return playbook


def _clock_value(value: Any) -> dt.time | None:
    return dt.time.fromisoformat(value) if value else None


@transaction.atomic
def playbook_import(*, data: bytes, actor: Any, name: str = "") -> ImportedPlaybook:
    """Create a draft playbook from an exported file. Refused with every problem, keyed
    by field, if anything in the file is wrong; then nothing is created.

    The draft takes the file's name; if a playbook already has it, the draft is named
    “<name> (imported)” (then “(imported 2)”…) and ``renamed_from`` says so. A ``name``
    given by the importer is used as it is, and refused if taken."""
    playbook, problems = playbook_file_problems(data)
    name = name.strip()
    if len(name) > _NAME_MAX:
        problems.setdefault("name", []).append(
            f"A playbook name is at most {_NAME_MAX} characters."
        )
    elif name and Playbook.objects.filter(name=name).exists():
        problems.setdefault("name", []).append(f"A playbook named “{name}” already exists.")
    if problems or playbook is None:
        raise ValidationFailed("The file cannot be imported; nothing was created.", problems)
    chosen = name or _free_name(playbook["name"], "imported")
    steps = [
        {
            **step,
            "at_time": _clock_value(step.get("at_time")),
            "window_start": _clock_value(step.get("window_start")),
            "window_end": _clock_value(step.get("window_end")),
        }
        for step in playbook["steps"]
    ]
    draft = _draft_create(
        settings={
            "name": chosen,
            "description": playbook.get("description") or "",
            "trigger": playbook["trigger"],
            "filters": playbook.get("filters") or {},
            "cancel_on": playbook.get("cancel_on") or [],
            "enrollment_policy": playbook.get("enrollment_policy") or Playbook.Policy.ONCE_PER_DEAL,
            "account_cooldown_days": playbook.get("account_cooldown_days"),
        },
        steps=steps,
    )
    renamed_from = playbook["name"] if chosen != playbook["name"] and not name else ""
    return ImportedPlaybook(playbook=draft, renamed_from=renamed_from)


@transaction.atomic
def playbook_clone(*, playbook: Playbook, actor: Any, name: str = "") -> Playbook:
    """A new draft with ``playbook``'s settings and draft steps (unpublished edits
    included), named ``name`` or “<name> (copy)” (then “(copy 2)”…). Enrollments,
    versions and status stay with the original."""
    source = Playbook.objects.get(pk=playbook.pk)
    name = name.strip()
    if name and Playbook.objects.filter(name=name).exists():
        raise ValidationFailed(
            "The playbook was not cloned.",
            {"name": [f"A playbook named “{name}” already exists."]},
        )
    if len(name) > _NAME_MAX:
        raise ValidationFailed(
            "The playbook was not cloned.",
            {"name": [f"A playbook name is at most {_NAME_MAX} characters."]},
        )
    steps = list(source.steps.order_by("position", "id").values(*_STEP_FIELDS))
    return _draft_create(
        settings={
            "name": name or _free_name(source.name, "copy"),
            "description": source.description,
            "trigger": source.trigger,
            "filters": source.filters,
            "cancel_on": source.cancel_on,
            "enrollment_policy": source.enrollment_policy,
            "account_cooldown_days": source.account_cooldown_days,
        },
        steps=steps,
    )
