"""The retention playbook: (dominant reason code, value tier) -> recommended action.

Operators edit ``policy/playbook.yaml`` (or a file named in ``PolicyConfig``); it is
validated on load so a typo in a reason code, tier or action name stops the worker at
start-up instead of silently sending the default action.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from models.reason_codes import ReasonCode
from policy.errors import PlaybookError
from schemas.outputs import RecommendedAction, ValueTier

PACKAGED_PLAYBOOK = "playbook.yaml"


class _ActionSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=300)]
    channel: Annotated[str, Field(min_length=1, max_length=32)]


class _Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reasons: frozenset[ReasonCode] | None = None  # None: any reason
    tiers: frozenset[ValueTier] | None = None  # None: any tier
    action: Annotated[str, Field(min_length=1, max_length=64)]


class _PlaybookFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1]
    actions: dict[Annotated[str, Field(min_length=1, max_length=64)], _ActionSpec]
    rules: tuple[_Rule, ...]
    default_action: str

    @model_validator(mode="after")
    def _actions_exist(self) -> _PlaybookFile:
        for index, rule in enumerate(self.rules):
            if rule.action not in self.actions:
                raise ValueError(f"rules[{index}].action={rule.action!r}: no such action")
        if self.default_action not in self.actions:
            raise ValueError(f"default_action={self.default_action!r}: no such action")
        return self


@dataclass(frozen=True, slots=True)
class Playbook:
    """A validated playbook; ``recommend`` is a pure first-match lookup."""

    rules: tuple[_Rule, ...]
    actions: dict[str, RecommendedAction]
    default: RecommendedAction

    def recommend(self, reason_code: str | None, tier: ValueTier) -> RecommendedAction:
        """The first rule matching both the dominant reason and the tier, else the default.

        >>> playbook = load_playbook()
        >>> playbook.recommend("complaints_network", ValueTier.MEDIUM).code
        'network_fix_callback'
        >>> playbook.recommend("complaints_network", ValueTier.KEY).code
        'vip_network_care'
        >>> playbook.recommend(None, ValueTier.MEDIUM).code
        'courtesy_call'
        """
        for rule in self.rules:
            if rule.tiers is not None and tier not in rule.tiers:
                continue
            if rule.reasons is not None and reason_code not in rule.reasons:
                continue
            return self.actions[rule.action]
        return self.default


def parse_playbook(text: str, source: str) -> Playbook:
    """Validate playbook YAML; ``source`` names the file in error messages."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise PlaybookError(source, f"not valid YAML: {error}") from error
    try:
        parsed = _PlaybookFile.model_validate(document)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc']) or 'document'}: {e['msg']}" for e in error.errors()
        )
        raise PlaybookError(source, problems) from error
    actions = {
        code: RecommendedAction(code=code, text=spec.text, channel=spec.channel)
        for code, spec in parsed.actions.items()
    }
    return Playbook(rules=parsed.rules, actions=actions, default=actions[parsed.default_action])


def load_playbook(path: Path | None = None) -> Playbook:
    """Load and validate ``path``, or the packaged ``policy/playbook.yaml`` when None."""
    if path is None:
        resource = resources.files("policy").joinpath(PACKAGED_PLAYBOOK)
        return parse_playbook(resource.read_text(encoding="utf-8"), f"policy/{PACKAGED_PLAYBOOK}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PlaybookError(str(path), f"cannot read: {error}") from error
    return parse_playbook(text, str(path))
