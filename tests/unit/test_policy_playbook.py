"""The retention playbook file: lookups and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.reason_codes import ReasonCode
from policy.errors import PlaybookError
from policy.playbook import load_playbook, parse_playbook
from schemas.outputs import ValueTier

PLAYBOOK = load_playbook()
VALID = """
version: 1
actions:
  call: {text: Call the customer., channel: phone}
  sms: {text: Send an SMS., channel: sms}
rules:
  - reasons: [topup_lapse]
    action: sms
default_action: call
"""


class TestLookups:
    @pytest.mark.parametrize(
        ("reason", "tier", "action", "channel"),
        [
            ("complaints_network", ValueTier.MEDIUM, "network_fix_callback", "phone"),
            ("dropped_calls", ValueTier.MEDIUM, "network_fix_callback", "phone"),
            ("complaints_price", ValueTier.MEDIUM, "tariff_review", "phone"),
            ("complaints_billing", ValueTier.MEDIUM, "tariff_review", "phone"),
            ("usage_decline", ValueTier.MEDIUM, "retention_bundle", "phone"),
            ("recent_calls_drop", ValueTier.MEDIUM, "retention_bundle", "phone"),
            ("topup_lapse", ValueTier.MEDIUM, "reactivation_bonus", "sms"),
            ("complaints_network", ValueTier.KEY, "vip_network_care", "account_manager"),
            ("complaints_price", ValueTier.HIGH, "vip_tariff_review", "account_manager"),
            ("topup_lapse", ValueTier.KEY, "vip_care", "account_manager"),
            ("complaints_network", ValueTier.LOW, "batch_sms_offer", "sms"),
            ("usage_decline", ValueTier.UNPROFITABLE, "batch_sms_offer", "sms"),
            ("model_baseline", ValueTier.MEDIUM, "courtesy_call", "phone"),
            (None, ValueTier.MEDIUM, "courtesy_call", "phone"),
        ],
    )
    def test_reason_and_tier_select_the_action(
        self, reason: str | None, tier: ValueTier, action: str, channel: str
    ) -> None:
        """The packaged playbook maps dominant reason x tier to the documented action."""
        recommended = PLAYBOOK.recommend(reason, tier)
        assert (recommended.code, recommended.channel) == (action, channel)

    @pytest.mark.parametrize("tier", list(ValueTier))
    @pytest.mark.parametrize("reason", [*ReasonCode, None])
    def test_every_reason_and_tier_gets_an_action(self, reason: ReasonCode | None, tier: ValueTier) -> None:
        """No reason-tier pair is left without an action with text."""
        assert PLAYBOOK.recommend(reason, tier).text

    def test_first_matching_rule_wins(self) -> None:
        """Rules are read top to bottom; an unmatched reason falls to the default."""
        playbook = parse_playbook(VALID, "test")
        assert playbook.recommend("topup_lapse", ValueTier.KEY).code == "sms"
        assert playbook.recommend("usage_decline", ValueTier.KEY).code == "call"

    def test_loads_a_playbook_file_from_a_path(self, tmp_path: Path) -> None:
        """An operator's own playbook file replaces the packaged one."""
        path = tmp_path / "playbook.yaml"
        path.write_text(VALID)
        assert load_playbook(path).default.code == "call"


class TestValidation:
    @pytest.mark.parametrize(
        ("text", "problem"),
        [
            ("version: 1\nactions: [", "not valid YAML"),
            ("- just a list", "document"),
            (VALID.replace("version: 1", "version: 2"), "version"),
            (VALID.replace("[topup_lapse]", "[topup_lapsed]"), "rules.0.reasons"),
            (VALID.replace("  - reasons: [topup_lapse]", "  - tiers: [vip]"), "rules.0.tiers"),
            (VALID.replace("action: sms", "action: letter"), "rules[0].action='letter'"),
            (VALID.replace("default_action: call", "default_action: visit"), "visit"),
            (VALID.replace("channel: sms}", "channel: sms, cost: 3}"), "actions.sms.cost"),
            (VALID.replace("text: Send an SMS., ", ""), "actions.sms.text"),
        ],
    )
    def test_invalid_playbook_is_rejected_naming_the_problem(self, text: str, problem: str) -> None:
        """A broken playbook raises PlaybookError whose message points at the problem."""
        with pytest.raises(PlaybookError) as error:
            parse_playbook(text, "ops.yaml")
        assert problem in str(error.value)
        assert str(error.value).startswith("playbook ops.yaml: ")

    def test_missing_file_is_a_playbook_error(self, tmp_path: Path) -> None:
        """A path that does not exist raises PlaybookError, not OSError."""
        with pytest.raises(PlaybookError, match="cannot read"):
            load_playbook(tmp_path / "absent.yaml")
