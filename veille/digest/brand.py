"""The association's own look: newsletter name, sender, logo, accent colour and footer.

Built once from the settings and handed to every renderer (email, archive, feeds, the public
pages), so all of them say the same name. Defaults are neutral: the name falls back to the
translated "Veille", the footer to a sentence saying why the reader receives it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import parseaddr
from pathlib import Path

from veille import i18n
from veille.settings import Settings, image_kind

log = logging.getLogger(__name__)
LOGO_CID = "logo@veille"  # Content-ID of the logo inside the email (multipart/related)
DEFAULT_ACCENT = "#2b5fa8"


@dataclass(frozen=True)
class Logo:
    data: bytes
    subtype: str  # png | jpeg | gif | webp

    @property
    def filename(self) -> str:
        return f"logo.{'jpg' if self.subtype == 'jpeg' else self.subtype}"


@dataclass(frozen=True)
class Brand:
    name: str = ""
    sender_name: str = ""
    accent: str = DEFAULT_ACCENT
    association: str = ""
    postal_address: str = ""
    reason: str = ""
    logo: Logo | None = None

    def title(self, lang: str) -> str:
        """The newsletter's name, or 'Veille' in the reader's language."""
        if self.name:
            return self.name
        return i18n.translations(i18n.normalise(lang), "digest").gettext("Veille")

    def sender(self, mail_from: str) -> str:
        """The From header: the configured address with the sender's display name."""
        shown, address = parseaddr(mail_from)
        display = self.sender_name or self.name or shown
        if not display or not address or "@" not in address:
            return mail_from
        user, _, domain = address.rpartition("@")
        return str(Address(display_name=display, username=user, domain=domain))


def from_settings(settings: Settings) -> Brand:
    return Brand(
        name=settings.newsletter_name.strip(),
        sender_name=settings.sender_name.strip(),
        accent=settings.accent_color,
        association=settings.association_name.strip(),
        postal_address=settings.postal_address.strip(),
        reason=settings.footer_reason.strip(),
        logo=load_logo(settings.logo),
    )


def load_logo(path: Path | None) -> Logo | None:
    """The logo's bytes; None, with a warning, when the file went away since the settings
    were checked (the issue goes out without it rather than not at all)."""
    if path is None:
        return None
    try:
        data = path.read_bytes()
    except OSError as exc:
        log.warning(
            "logo not readable, sent without it", extra={"path": str(path), "error": str(exc)}
        )
        return None
    kind = image_kind(data[:16])
    return Logo(data, kind) if kind else None
