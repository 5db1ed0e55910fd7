"""What a page says when something went wrong: a translated sentence chosen by the kind of
error, never the exception's own (English, technical) text.

Exceptions keep their text for the logs and the CLI; a page picks its sentence here by the
error's type (or, for a recorded job, the type name stored with it) and says what to do next.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pydantic import ValidationError

from veille.errors import ConfigError, FetchError, ModelError, NotWritableError, VeilleError
from veille.web.render import N_

Translate = Callable[[str], str]


class FieldError(ConfigError):
    """One field of the form is wrong (`field` names it)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class DuplicateSource(ConfigError):
    """A source with this name or URL is already in the sources file."""


class UnresolvableHost(FetchError):
    """The address's host name does not resolve."""


class RefusedAddress(FetchError):
    """The address points at a private, loopback or reserved network."""


SOURCE_ERRORS: dict[type[Exception], str] = {
    DuplicateSource: N_("A source with this name or this address is already in the list."),
    UnresolvableHost: N_(
        "This address's site cannot be found (its name does not resolve). Check the spelling."
    ),
    RefusedAddress: N_(
        "This address points at a private or local network: it is refused for safety."
    ),
    FetchError: N_("This address cannot be reached. Check it and try again."),
    NotWritableError: N_(
        "The sources file cannot be saved: its folder is read-only or missing. Mount it "
        "read-write (no :ro in Docker); `veille doctor` says which folder."
    ),
    ConfigError: N_("The sources file could not be updated; the details are in the logs."),
}
FIELD_ERRORS = {
    "name": N_("Give the source a name."),
    "url": N_("The address must be a full link starting with http:// or https://."),
    "kind": N_("Choose a kind: feed, web page or sitemap."),
    "language": N_("Language: a code such as fr or en."),
    "interval": N_(
        "“Every”: a number of seconds or a duration such as 30m, 6h or 1d (at least 1m)."
    ),
    "selector": N_("The CSS selector is not valid (it is only for a web page)."),
    "tags": N_("Tags: words separated by commas."),
}
GENERIC = N_("This could not be done; the details are in the logs.")

# Jobs store their error as "TypeName: message"; a page only shows what the type means.
JOB_ERRORS = {
    "NotEnoughLabels": N_(
        "Not enough judged articles to train a model: judge at least a few articles of each "
        "topic, and some off-topic ones, on the review page."
    ),
    "ModelError": N_("The model files cannot be read: an administrator should run veille train."),
}
JOB_SKIPS = {
    "no new corrections since the last training": N_("no new correction since the last training"),
    "not due": N_("not due yet"),
}
JOB_FAILED = N_("The training failed; the details are in the server logs.")


def subscribe_error(exc: Exception, tr: Translate, address: str = "") -> str:
    """The subscribe form's sentence: the address (as typed), else the choices made."""
    from veille.digest.subscribers import AddressError

    if isinstance(exc, AddressError):
        typed = address.strip()[:100]
        return tr(
            N_("“%(address)s” is not a valid email address: check it (e.g. name@example.org).")
        ) % {"address": typed}
    if isinstance(exc, VeilleError) and "frequency" in str(exc):
        return tr(N_("Choose how often to receive it: every day or every week."))
    if isinstance(exc, VeilleError):
        return tr(N_("Choose at least one topic and a language from the list."))
    return tr(GENERIC)


def source_error(exc: Exception, tr: Translate) -> str:
    """The Sources page's sentence for a refused change."""
    if isinstance(exc, ValidationError):
        errors = exc.errors()
        field = str(errors[0]["loc"][0]) if errors and errors[0]["loc"] else ""
        return tr(FIELD_ERRORS.get(field, GENERIC))
    if isinstance(exc, FieldError):
        return tr(FIELD_ERRORS.get(exc.field, GENERIC))
    for kind, message in SOURCE_ERRORS.items():
        if isinstance(exc, kind):
            return tr(message)
    return tr(GENERIC)


def job_error(error: str | None, outcome: str, tr: Translate) -> str:
    """A recorded job's failure or skip reason, as a sentence for the model page."""
    if not error:
        return ""
    if outcome == "skipped":
        return tr(JOB_SKIPS.get(error, N_("skipped")))
    kind = error.split(":", 1)[0].strip()
    return tr(JOB_ERRORS.get(kind, JOB_FAILED))


def model_error(exc: VeilleError, tr: Translate) -> str:
    if isinstance(exc, ModelError):
        return tr(JOB_ERRORS["ModelError"])
    return tr(N_("There is no earlier model to go back to."))


_F1 = r"macro-F1 (?P<new>\d\.\d+)"
_REASONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^no current model$"), N_("first model: nothing to compare it with")),
    (re.compile(r"^forced$"), N_("made current by an administrator (--force)")),
    (
        re.compile(r"^(?P<new>\d\.\d+) vs (?P<old>\d\.\d+) on (?P<n>\d+) fresh"),
        N_(
            "at least as good as the current model, within 0.01, on %(n)s recently judged "
            "articles (score %(new)s against %(old)s)"
        ),
    ),
    (
        re.compile(r"^(?P<new>\d\.\d+) is below the current model's (?P<old>\d\.\d+)"),
        N_("less good than the current model (score %(new)s against %(old)s)"),
    ),
    (
        re.compile(r"^too little evidence: (?P<n>\d+) judged items .* (?P<needed>\d+) needed"),
        N_(
            "not enough recent judgements to compare it with the current model "
            "(%(n)s, %(needed)s needed)"
        ),
    ),
    # Models trained before promotion was judged on fresh evidence.
    (
        re.compile(rf"^{_F1} vs (?P<old>\d\.\d+)"),
        N_("at least as good as the current model, within 0.01 (score %(new)s against %(old)s)"),
    ),
    (
        re.compile(rf"^{_F1} is below (?P<old>\d\.\d+)"),
        N_("less good than the current model (score %(new)s against %(old)s)"),
    ),
]


def promotion_reason(reason: str | None, tr: Translate, number: Callable[[float], str]) -> str:
    """Why a trained model was (not) made current, in words."""
    for pattern, message in _REASONS:
        found = pattern.match(reason or "")
        if found:
            names = {k: number(float(v)) if "." in v else v for k, v in found.groupdict().items()}
            return tr(message) % names if names else tr(message)
    return reason or ""


# A source's recorded failure (the fetcher's English line) in words, most specific first.
_FETCH: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"robots\.txt"), N_("refused by the site's robots.txt")),
    (re.compile(r"refused address"), N_("address refused: private or local network")),
    (re.compile(r"cannot resolve|Name or service not known"), N_("site not found (unknown name)")),
    (re.compile(r"timed out|timeout", re.I), N_("the site took too long to answer")),
    (re.compile(r"cannot connect|unreachable|Connection refused", re.I), N_("site unreachable")),
    (re.compile(r"\bHTTP (?:404|410)\b"), N_("page not found (HTTP %(code)s)")),
    (re.compile(r"\bHTTP (?:401|403)\b"), N_("access refused by the site (HTTP %(code)s)")),
    (re.compile(r"\bHTTP 429\b"), N_("too many requests: the site asks to wait (HTTP 429)")),
    (re.compile(r"\bHTTP 5\d\d\b"), N_("error on the site's side (HTTP %(code)s)")),
    (re.compile(r"\bHTTP \d{3}\b"), N_("unexpected answer (HTTP %(code)s)")),
    (re.compile(r"redirect"), N_("too many or looping redirects")),
    (re.compile(r"larger than"), N_("answer too large")),
    (re.compile(r"entities|refused"), N_("content refused for safety")),
    (re.compile(r"not a feed|not a sitemap|not an HTML page|not a gzip"), N_("content unreadable")),
    (re.compile(r"^internal error"), N_("internal error (see the server logs)")),
]
_CODE = re.compile(r"\bHTTP (\d{3})\b")


def fetch_error(error: str | None, tr: Translate) -> str:
    """A source's last error as a few words; the recorded line stays in the logs and the
    Sources page keeps it as a tooltip."""
    if not error:
        return ""
    code = _CODE.search(error)
    for pattern, message in _FETCH:
        if pattern.search(error):
            said = tr(message)
            return said % {"code": code.group(1)} if "%(code)s" in message and code else said
    return tr(N_("the fetch failed"))
