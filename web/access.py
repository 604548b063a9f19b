"""Who may read the retention queue and record outcomes: the holder of ``CHURNWATCH_WEB_TOKEN``.

A browser signs in once on ``/queue/login`` with the token and gets a session cookie
(HttpOnly, SameSite=Strict, path ``/queue``) whose value is derived from the token, so the
token itself is never stored in the browser; scripts send ``Authorization: Bearer <token>``.
Recording an outcome from a browser also needs the page's CSRF value in the
``X-CSRF-Token`` header, which another site's page can neither read nor send.

Without a token the worker starts only when its web server listens on loopback
(``exposure_problem``), and the page is then open to requests addressed to a loopback
host name (so another site cannot reach it by rebinding its own name to 127.0.0.1).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from enum import StrEnum

from pydantic import SecretStr

SESSION_COOKIE = "churnwatch_queue"
SESSION_MAX_AGE_S = 12 * 3600
CSRF_HEADER = "X-CSRF-Token"
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(address: str) -> bool:
    """Whether a bind address or host name reaches this machine only.

    >>> [is_loopback(a) for a in ("127.0.0.1", "::1", "localhost", "0.0.0.0", "10.0.0.5", "worker-1")]
    [True, True, True, False, False, False]
    """
    if address.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_problem(web_bind: str, token: SecretStr | None) -> str | None:
    """Why the worker must not start with this web set-up, or None.

    >>> exposure_problem("127.0.0.1", None) is None
    True
    >>> exposure_problem("0.0.0.0", SecretStr("a-long-random-token")) is None
    True
    >>> print(exposure_problem("0.0.0.0", None))
    the web server listens on 0.0.0.0 without CHURNWATCH_WEB_TOKEN: set a token for the retention queue page, or CHURNWATCH_WORKER__WEB_BIND=127.0.0.1
    """  # noqa: E501
    if token is not None and token.get_secret_value():
        return None
    if is_loopback(web_bind):
        return None
    return (
        f"the web server listens on {web_bind} without CHURNWATCH_WEB_TOKEN: set a token for the "
        "retention queue page, or CHURNWATCH_WORKER__WEB_BIND=127.0.0.1"
    )


def host_name(host_header: str) -> str:
    """The name part of a ``Host`` header.

    >>> host_name("127.0.0.1:6066"), host_name("[::1]:6066"), host_name("localhost")
    ('127.0.0.1', '::1', 'localhost')
    """
    if host_header.startswith("["):
        return host_header[1 : host_header.find("]")]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


class Verdict(StrEnum):
    """The answer to a request; the refusals are counted by these names."""

    ALLOWED = "allowed"
    NO_TOKEN = "no_token"
    WRONG_TOKEN = "wrong_token"
    NOT_LOOPBACK = "not_loopback"
    NO_CSRF = "no_csrf"


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a request carries: its ``Authorization`` and ``Host`` headers and the session cookie."""

    authorization: str | None
    cookie: str | None
    host: str
    csrf: str | None = None


class QueueAccess:
    """Checks requests against the token; without a token, against a loopback host."""

    def __init__(self, token: SecretStr | None) -> None:
        value = token.get_secret_value() if token is not None else ""
        self.open = not value
        self._token = value.encode()
        # session and CSRF values are keyed by the token; open pages key CSRF by a per-process secret
        self._key = self._token or secrets.token_bytes(32)

    def _derived(self, label: str) -> str:
        return hmac.new(self._key, label.encode(), hashlib.sha256).hexdigest()

    @property
    def session_value(self) -> str:
        return self._derived("churnwatch queue session")

    @property
    def csrf_value(self) -> str:
        return self._derived("churnwatch queue csrf")

    def token_matches(self, submitted: str) -> bool:
        """Constant-time comparison with the configured token (False when there is none)."""
        return not self.open and hmac.compare_digest(submitted.encode(), self._token)

    def read(self, credentials: Credentials) -> Verdict:
        """May this request read the queue?"""
        if self.open:
            return Verdict.ALLOWED if is_loopback(host_name(credentials.host)) else Verdict.NOT_LOOPBACK
        if credentials.authorization is not None:
            scheme, _, submitted = credentials.authorization.partition(" ")
            if scheme.lower() == "bearer" and self.token_matches(submitted.strip()):
                return Verdict.ALLOWED
            return Verdict.WRONG_TOKEN
        if credentials.cookie is None:
            return Verdict.NO_TOKEN
        if hmac.compare_digest(credentials.cookie.encode(), self.session_value.encode()):
            return Verdict.ALLOWED
        return Verdict.WRONG_TOKEN

    def write(self, credentials: Credentials) -> Verdict:
        """May this request record an outcome? Reading rights, plus the CSRF value unless the token
        itself came in the ``Authorization`` header (a script, not a browser's ambient cookie)."""
        verdict = self.read(credentials)
        if verdict is not Verdict.ALLOWED or (credentials.authorization is not None and not self.open):
            return verdict
        if credentials.csrf is None or not hmac.compare_digest(
            credentials.csrf.encode(), self.csrf_value.encode()
        ):
            return Verdict.NO_CSRF
        return Verdict.ALLOWED

    def session_cookie(self, secure: bool) -> str:
        """The ``Set-Cookie`` value that signs a browser in."""
        flags = "; Secure" if secure else ""
        return (
            f"{SESSION_COOKIE}={self.session_value}; Path=/queue; Max-Age={SESSION_MAX_AGE_S}; "
            f"HttpOnly; SameSite=Strict{flags}"
        )
