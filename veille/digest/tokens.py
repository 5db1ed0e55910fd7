"""Signed links for subscribers: confirm (expires), one-click unsubscribe, preferences and
"off topic?" reports (these three do not).

A token carries the subscriber's id and address, signed with the instance's secret and a
purpose-specific salt, so a confirm token cannot unsubscribe and a token minted for an address
that was later deleted and re-added under the same id does not match. Unsubscribe links never
expire: an old digest in someone's mailbox must still let them leave, or change their mind.
A report link is signed for one (subscriber, item) pair; the public archive's links are signed
for subscriber 0, and the web app then counts one report per client address.
"""

from __future__ import annotations

from urllib.parse import quote

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

from veille.errors import VeilleError

CONFIRM_MAX_AGE = 7 * 24 * 3600  # seconds a confirmation link stays valid
CONFIRM_PATH = "/subscribe/confirm/"
UNSUBSCRIBE_PATH = "/unsubscribe/"
PREFERENCES_PATH = "/preferences/"
FEEDBACK_PATH = "/feedback/"
ANONYMOUS = 0  # the subscriber id of the public archive's report links


class LinkError(VeilleError):
    """A confirm or unsubscribe link is forged, damaged or expired."""


def confirm_token(secret: str, *, subscriber_id: int, email: str) -> str:
    return URLSafeTimedSerializer(secret, salt="veille-confirm").dumps([subscriber_id, email])


def unsubscribe_token(secret: str, *, subscriber_id: int, email: str) -> str:
    return URLSafeSerializer(secret, salt="veille-unsubscribe").dumps([subscriber_id, email])


def read_confirm(secret: str, token: str, *, max_age: int = CONFIRM_MAX_AGE) -> tuple[int, str]:
    """(subscriber id, email) from a confirmation token, or LinkError."""
    try:
        sid, email = URLSafeTimedSerializer(secret, salt="veille-confirm").loads(
            token, max_age=max_age
        )
    except SignatureExpired:
        raise LinkError("this confirmation link has expired; subscribe again") from None
    except (BadSignature, ValueError, TypeError):
        raise LinkError("this confirmation link is not valid") from None
    return int(sid), str(email)


def read_unsubscribe(secret: str, token: str) -> tuple[int, str]:
    """(subscriber id, email) from an unsubscribe token, or LinkError."""
    try:
        sid, email = URLSafeSerializer(secret, salt="veille-unsubscribe").loads(token)
    except (BadSignature, ValueError, TypeError):
        raise LinkError("this unsubscribe link is not valid") from None
    return int(sid), str(email)


def confirm_url(base_url: str, token: str) -> str:
    return base_url.rstrip("/") + CONFIRM_PATH + quote(token, safe="")


def unsubscribe_url(base_url: str, token: str) -> str:
    return base_url.rstrip("/") + UNSUBSCRIBE_PATH + quote(token, safe="")


def preferences_token(secret: str, *, subscriber_id: int, email: str) -> str:
    return URLSafeSerializer(secret, salt="veille-preferences").dumps([subscriber_id, email])


def read_preferences(secret: str, token: str) -> tuple[int, str]:
    """(subscriber id, email) from a preferences token, or LinkError."""
    try:
        sid, email = URLSafeSerializer(secret, salt="veille-preferences").loads(token)
    except (BadSignature, ValueError, TypeError):
        raise LinkError("this preferences link is not valid") from None
    return int(sid), str(email)


def feedback_token(secret: str, *, subscriber_id: int, item_id: int) -> str:
    return URLSafeSerializer(secret, salt="veille-feedback").dumps([subscriber_id, item_id])


def read_feedback(secret: str, token: str) -> tuple[int, int]:
    """(subscriber id, item id) from an "off topic?" link, or LinkError."""
    try:
        sid, item_id = URLSafeSerializer(secret, salt="veille-feedback").loads(token)
        return int(sid), int(item_id)
    except (BadSignature, ValueError, TypeError):
        raise LinkError("this report link is not valid") from None


def preferences_url(base_url: str, token: str) -> str:
    return base_url.rstrip("/") + PREFERENCES_PATH + quote(token, safe="")


def feedback_url(base_url: str, token: str) -> str:
    return base_url.rstrip("/") + FEEDBACK_PATH + quote(token, safe="")
