"""Charset decisions for pages and feeds that declare nothing, or declare it wrong."""

from __future__ import annotations

import re

import pytest
from legacy_news import LEGACY_NEWS, LegacyNews
from w3lib.encoding import html_body_declared_encoding

from harness.corpus import CORPUS, needs_corpus
from tasks.encoding import decode_html
from tasks.feeds.parse import parse_feed
from tasks.models import FeedEntry, Page
from tasks.page.extract import extract_article

LEGACY = [pytest.param(news, id=news.encoding) for news in LEGACY_NEWS]

# Latin-script text without a declaration stays windows-1252: the detector is not trusted to
# tell windows-1252 from windows-1250 and friends.
LATIN_NEWS = {
    "fr": "Le gouvernement a annoncé mercredi une série de mesures pour soutenir les "
    "agriculteurs touchés par la sécheresse. « Nous serons à leurs côtés », a déclaré le "
    "ministre, qui s'est rendu à Bordeaux où les récoltes de maïs ont été très inférieures.",
    "es": "El Ayuntamiento de Madrid aprobó este miércoles la ampliación de la zona de bajas "
    "emisiones, que entrará en vigor en enero. Según el concejal, la medida afectará a unos "
    "200.000 vehículos que no tienen etiqueta ambiental.",
    "pt": "O governo anunciou nesta quarta-feira um pacote de medidas para conter a alta dos "
    "preços dos alimentos. Segundo o ministro, a redução de impostos sobre o feijão e o arroz "
    "deverá começar a valer já no próximo mês.",
    "de": "Die Bundesregierung hat am Mittwoch ein Gesetz zur Förderung von Wärmepumpen "
    "beschlossen. „Künftig sollen Hausbesitzer bis zu 70 Prozent der Kosten erstattet "
    "bekommen“, teilte das Ministerium mit. Kritiker bemängeln die hohen Ausgaben.",
}


def _page(news: LegacyNews, content_type: str | None = "text/html") -> Page:
    url = f"https://news.example/{news.language}/1.html"
    body = news.page().encode(news.encoding)
    return Page(url=url, final_url=url, http_status=200, body=body, content_type=content_type)


@pytest.mark.parametrize("news", LEGACY)
@pytest.mark.parametrize("content_type", [None, "text/html"])
def test_undeclared_legacy_page_decodes_in_its_own_script(
    news: LegacyNews, content_type: str | None
) -> None:
    assert decode_html(content_type, news.page().encode(news.encoding)) == news.page()


@pytest.mark.parametrize("news", LEGACY)
def test_undeclared_legacy_page_gives_a_clean_article_in_its_language(news: LegacyNews) -> None:
    page = _page(news)
    entry = FeedEntry(feed_name="legacy", url=page.url)

    article = extract_article(entry, page)

    assert article.extraction == "page", article.extraction_error
    assert article.title == " ".join(news.headline.split())  # U+3000 is a space too
    for paragraph in news.paragraphs:
        assert paragraph in article.text
    assert article.language == news.language


@pytest.mark.parametrize("news", LEGACY)
def test_legacy_page_that_claims_utf8_in_meta_is_decoded_in_its_own_script(
    news: LegacyNews,
) -> None:
    html = news.page().replace("<head>", '<head><meta charset="utf-8">')

    assert decode_html("text/html", html.encode(news.encoding)) == html


@pytest.mark.parametrize("language", sorted(LATIN_NEWS))
def test_undeclared_latin_page_stays_windows_1252(language: str) -> None:
    html = f"<html><head><title>x</title></head><body><p>{LATIN_NEWS[language]}</p></body></html>"

    assert decode_html("text/html", html.encode("cp1252")) == html


def test_declared_charset_beats_the_detector() -> None:
    # KOI8-R bytes read as the page says: the declaration is the publisher's word.
    news = next(n for n in LEGACY_NEWS if n.encoding == "koi8_r")
    body = news.page().encode("koi8_r")

    assert decode_html("text/html; charset=iso-8859-1", body) == body.decode("iso-8859-1")


@pytest.mark.parametrize("news", LEGACY)
def test_undeclared_legacy_feed_decodes_in_its_own_script(news: LegacyNews) -> None:
    feed = parse_feed("legacy", news.feed().encode(news.encoding), "https://news.example/feed")

    assert feed.title == " ".join(news.headline.split())
    assert [e.summary for e in feed.entries] == list(news.paragraphs)
    assert all(e.title == feed.title for e in feed.entries)


@pytest.mark.parametrize("news", LEGACY)
def test_legacy_feed_that_declares_utf8_decodes_in_its_own_script(news: LegacyNews) -> None:
    xml = news.feed().replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-8"?>')

    feed = parse_feed("legacy", xml.encode(news.encoding), "https://news.example/feed")

    assert feed.title == " ".join(news.headline.split())
    assert [e.summary for e in feed.entries] == list(news.paragraphs)


@pytest.mark.parametrize("language", sorted(LATIN_NEWS))
def test_undeclared_latin_feed_stays_windows_1252(language: str) -> None:
    xml = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        "<item><title>t</title><link>https://news.example/1</link>"
        f"<description>{LATIN_NEWS[language]}</description></item></channel></rss>"
    )

    feed = parse_feed("latin", xml.encode("cp1252"), "https://news.example/feed")

    assert feed.entries[0].summary == LATIN_NEWS[language]


_DECLARATION = re.compile(rb"""(?i)(<meta[^>]*?)charset=["']?[-\w]+["']?""")


@pytest.mark.corpus
@needs_corpus
def test_corpus_legacy_pages_that_lose_their_declaration_decode_the_same() -> None:
    # Every non-UTF-8 page of the corpus, with its <meta charset> removed: the guess must
    # land where the declaration did.
    legacy = []
    for path in sorted((CORPUS / "articles").glob("*.html")):
        body = path.read_bytes()
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            legacy.append((path.name, body))
    assert legacy
    for name, body in legacy:
        undeclared = _DECLARATION.sub(rb"\1", body)
        assert undeclared != body, name
        declared = html_body_declared_encoding(body)
        assert decode_html("text/html", undeclared) == undeclared.decode(declared), name


# Real Korean, Russian and Japanese pages of the corpus (UTF-8 there), written out again in the
# legacy encodings their sites used before UTF-8, with every charset declaration removed.
REENCODED = [
    ("aeb-0ec95c7261d122f3.html", "euc_kr"),
    ("aeb-9da36ae4714bfccc.html", "cp949"),
    ("aeb-3c6d3381ef52ca26.html", "koi8_r"),
    ("aeb-ff0f958ade714ebf.html", "koi8_r"),
    ("aeb-c4a3637c6696f238.html", "cp1251"),
    ("aeb-c82b3d1d540bbbd6.html", "cp1251"),
    ("aeb-85439e26c41c7590.html", "cp932"),
    ("aeb-f105de6e63ca91ea.html", "cp932"),
]


def reencode_without_declaration(utf8_page: bytes, encoding: str) -> bytes:
    """The page in `encoding`, characters it lacks as character references, no charset named."""
    undeclared = _DECLARATION.sub(rb"\1", utf8_page).decode("utf-8")
    return undeclared.encode(encoding, "xmlcharrefreplace")


@pytest.mark.corpus
@needs_corpus
@pytest.mark.parametrize(("name", "encoding"), REENCODED)
def test_corpus_pages_in_legacy_encodings_without_declaration_decode_right(
    name: str, encoding: str
) -> None:
    body = reencode_without_declaration((CORPUS / "articles" / name).read_bytes(), encoding)

    assert decode_html("text/html", body) == body.decode(encoding)


@pytest.mark.corpus
@needs_corpus
def test_corpus_latin_pages_written_in_windows_1252_without_declaration_stay_windows_1252() -> None:
    # Every other UTF-8 page of the corpus (English, German, Portuguese, French...), written out
    # in windows-1252: curly quotes next to letters must not pass for Shift_JIS or Big5.
    legacy_script = {name for name, _ in REENCODED}
    misread = []
    for path in sorted((CORPUS / "articles").glob("*.html")):
        utf8_page = path.read_bytes()
        if path.name in legacy_script or not _is_utf8(utf8_page):
            continue
        body = reencode_without_declaration(utf8_page, "cp1252")
        if decode_html("text/html", body) != body.decode("cp1252"):
            misread.append(path.name)
    assert misread == []


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# The WHATWG prescan: a `<meta>` that names UTF-16 sits in bytes that were read as ASCII to find
# it, so they are not UTF-16; browsers read them as UTF-8. Pages transcoded to UTF-8 by a CMS or
# a proxy keep such a declaration from their UTF-16 origin (Word's "Save as Web Page" writes it).
@pytest.mark.parametrize(
    "declaration",
    [
        '<meta charset="utf-16">',
        '<meta charset="UTF-16LE">',
        '<meta http-equiv="Content-Type" content="text/html; charset=utf-16be">',
        '<meta http-equiv="Content-Type" content="text/html; charset=unicode">',
    ],
)
def test_meta_that_declares_utf16_over_utf8_bytes_means_utf8(declaration: str) -> None:
    html = f"<html><head>{declaration}<title>Été</title></head><body><p>{LATIN_NEWS['fr']}</p>"

    assert decode_html("text/html", html.encode("utf-8")) == html


def test_page_that_declares_utf16_in_meta_keeps_its_text() -> None:
    paragraphs = "".join(f"<p>{LATIN_NEWS['fr']} ({n})</p>" for n in range(4))
    html = (
        '<html lang="fr"><head><meta charset="utf-16"><title>Sécheresse : des aides</title>'
        f"</head><body><article><h1>Sécheresse : des aides</h1>{paragraphs}</article></body></html>"
    )
    url = "https://news.example/fr/secheresse.html"
    page = Page(url, url, 200, body=html.encode("utf-8"), content_type="text/html")

    article = extract_article(FeedEntry("fr", url, title="Feed headline"), page)

    assert article.extraction == "page"
    assert article.title == "Sécheresse : des aides"
    assert LATIN_NEWS["fr"] in article.text


def test_meta_x_user_defined_means_windows_1252() -> None:
    html = (
        '<html><head><meta charset="x-user-defined"><title>x</title></head>'
        f"<body><p>{LATIN_NEWS['de']}</p></body></html>"
    )

    assert decode_html("text/html", html.encode("cp1252")) == html


def test_byte_order_mark_beats_the_header_and_the_meta() -> None:
    html = f'<html><head><meta charset="iso-8859-1"></head><body><p>{LATIN_NEWS["es"]}</p>'
    body = "\ufeff".encode("utf-16-le") + html.encode("utf-16-le")

    assert decode_html("text/html; charset=windows-1251", body) == html


@pytest.mark.parametrize("label", ["utf-16", "utf-16le", "utf-16be"])
def test_header_utf16_is_followed_when_the_bytes_are_utf16(label: str) -> None:
    html = f"<html><head><title>x</title></head><body><p>{LATIN_NEWS['pt']}</p></body></html>"
    codec = "utf-16-be" if label.endswith("be") else "utf-16-le"

    assert decode_html(f"text/html; charset={label}", html.encode(codec)) == html


def test_header_utf16_over_bytes_that_are_not_utf16_is_ignored() -> None:
    # Browsers would show CJK-looking noise; the bytes have none of UTF-16's zero bytes, so the
    # claim is as checkable as a false UTF-8 one, and the page is read from its own `<meta>`.
    html = '<html><head><meta charset="utf-8"><title>x</title></head>'
    html += f"<body><p>{LATIN_NEWS['de']}</p></body></html>"

    assert decode_html("text/html; charset=utf-16", html.encode("utf-8")) == html


def test_header_utf32_is_no_charset() -> None:
    # The Encoding Standard has no UTF-32 label: the header is ignored and the `<meta>` read.
    html = '<html><head><meta charset="utf-8"><title>x</title></head>'
    html += f"<body><p>{LATIN_NEWS['fr']}</p></body></html>"

    assert decode_html("text/html; charset=utf-32", html.encode("utf-8")) == html
