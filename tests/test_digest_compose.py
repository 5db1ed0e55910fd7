"""DigestTemplate: the bytes of digest_message(...) serialised for SMTP, built once per issue."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from veille.digest import compose
from veille.digest.render import Rendered

PLACEHOLDER = "https://unsubscribe.invalid/veille-placeholder"
TEXT = f"Veille · 25 novembre\nSe désabonner : {PLACEHOLDER}\n{'x' * 70} {PLACEHOLDER} \nfin=\n"
HTML = (
    f'<p>{"é" * 40}<a href="{PLACEHOLDER}">Se désabonner</a>{"z" * 200}</p>\n<p>{PLACEHOLDER}</p>'
)


def reference(rendered: Rendered, boundary: bytes, **fields: object) -> compose.Outgoing:
    """What the sender built per subscriber before templates: the whole message each time."""
    url = str(fields["unsubscribe_url"])
    mine = Rendered(
        rendered.subject,
        rendered.text.replace(PLACEHOLDER, url),
        rendered.html.replace(PLACEHOLDER, url),
    )
    msg = compose.digest_message(mine, **fields)  # type: ignore[arg-type]
    msg.set_boundary(boundary.decode())  # as_bytes draws a random one otherwise
    out = compose.outgoing(msg)
    # The one difference meant: List-Unsubscribe as RFC 2369 writes it, never encoded words.
    folded = compose._line("List-Unsubscribe", f"<{url}>")
    return compose.Outgoing(
        out.sender,
        out.recipient,
        out.message_id,
        out.data.replace(folded, b"List-Unsubscribe: <%s>\r\n" % url.encode()),
    )


@pytest.mark.parametrize(
    ("to", "subscriber_id", "mail_from", "reply_to"),
    [
        ("reader001@example.org", 1, "Veille <veille@example.org>", "equipe@example.org"),
        ("a.b+tag_x-y@sub.example.org", 123456, "veille@example.org", None),
        ("o'brien{x}@example.org", 42, "veille@example.org", None),  # left to the header parser
        # too long for one header line: left to the header parser
        (f"{'long.local.part.' * 4}x@a-rather-long-domain.example.org", 7, "v@e.org", None),
        ("reader002@example.org", 2, "Veille <veille@a-long-domain-for-message-ids.example>", None),
    ],
)
def test_a_filled_template_is_the_message_the_email_package_builds(
    to: str, subscriber_id: int, mail_from: str, reply_to: str | None
) -> None:
    rendered = Rendered("Veille du 25 novembre 2026\u00a0: 10 articles", TEXT, HTML)
    template = compose.DigestTemplate(
        rendered, placeholder=PLACEHOLDER, mail_from=mail_from, reply_to=reply_to, lang="fr"
    )
    for token in ("short", "WzEsInJlYWRlcjAwMSJd.F8loOmTIBOJGYvngQSDrvmC84zY" * 3):
        fields = dict(
            to=to,
            msgid=compose.message_id("digest", f"2026-11-25.{subscriber_id}", mail_from),
            date=datetime(2026, 11, 25, 6, 0, 7, tzinfo=UTC),
            unsubscribe_url=f"https://veille.example.org/unsubscribe/{token}",
        )
        got = template.fill(**fields)  # type: ignore[arg-type]
        boundary = got.data.split(b'boundary="', 1)[1].split(b'"', 1)[0]
        want = reference(
            rendered, boundary, mail_from=mail_from, reply_to=reply_to, lang="fr", **fields
        )
        assert got == want
        assert f"\r\nList-Unsubscribe: <{fields['unsubscribe_url']}>\r\n".encode() in got.data


def test_qp_line_is_body_encode_character_for_character() -> None:
    import random
    from email import quoprimime

    rng = random.Random(7)
    alphabet = "abc =é\u202f<>\"'/:.?&%\t~€" + "".join(chr(i) for i in range(0x20, 0x7F))
    for _ in range(3000):
        line = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300)))
        raw = line.encode().decode("latin-1")  # how fill hands a line to the encoder
        assert compose.qp_line(raw) == quoprimime.body_encode(raw, 76), raw
