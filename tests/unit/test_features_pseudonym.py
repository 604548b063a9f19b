"""Keyed pseudonyms of counterparty numbers."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st
from msgspec import structs

from features.pseudonym import pseudonymise, pseudonymise_call
from schemas.events import CallDirection, CallEvent


class TestPseudonymise:
    def test_same_number_and_key_give_the_same_pseudonym(self) -> None:
        """Pseudonyms are stable, so distinct-contact counting still works."""
        assert pseudonymise("+447700900123", b"key") == pseudonymise("+447700900123", b"key")

    def test_different_key_gives_a_different_pseudonym(self) -> None:
        """The pseudonym depends on the secret key, not only on the number."""
        assert pseudonymise("+447700900123", b"key-a") != pseudonymise("+447700900123", b"key-b")

    def test_different_numbers_give_different_pseudonyms(self) -> None:
        """Neighbouring numbers do not collide."""
        assert pseudonymise("+447700900123", b"key") != pseudonymise("+447700900124", b"key")

    @given(value=st.text(max_size=80), key=st.binary(max_size=100))
    def test_pseudonym_is_the_truncated_hmac_in_unpadded_base64url(self, value: str, key: bytes) -> None:
        """The pseudonym is HMAC-SHA256 cut to 16 bytes, base64url without padding, for any key."""
        digest = hmac.new(key, value.encode(), hashlib.sha256).digest()[:16]
        assert pseudonymise(value, key) == base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def test_pseudonym_does_not_contain_the_number(self) -> None:
        """No digits of the raw number leak through in a recognisable run."""
        assert "900123" not in pseudonymise("+447700900123", b"key")

    def test_call_copy_replaces_only_the_counterparty(self) -> None:
        """The call keeps every other field; the original object is unchanged."""
        call = CallEvent(
            event_id="e1",
            customer_id="c1",
            event_time=datetime(2026, 1, 1, tzinfo=UTC),
            direction=CallDirection.OUTGOING,
            duration_s=30,
            counterparty="+447700900123",
        )
        masked = pseudonymise_call(call, b"key")
        assert masked.counterparty == pseudonymise("+447700900123", b"key")
        assert structs.replace(masked, counterparty="") == structs.replace(call, counterparty="")
        assert call.counterparty == "+447700900123"
