"""Is the page the article, or something served in its place?

A fetch can come back 200 with a page that is not the article: a CDN's bot challenge ("Just a
moment…"), a cookie-consent wall served instead of the article, a sign-in wall, a JavaScript
app shell with nothing rendered, an error page ("Page not found") served with 200. Extracted
like articles they store the wall's text under the wall's title. And an article behind a
paywall gives its teaser only: that is the article's text, but not all of it.

Consent banners, "subscribe" footers and a CDN's scripts are on most real news pages, so no
single phrase or piece of markup decides. What decides:
- a body of running text that is not made of wall phrases is an article, whatever else the
  page says (mistaking an article for a wall loses it; the reverse stores the feed's text);
- otherwise the page's whole visible text must be short, and a class's own signal present:
  its title ("Just a moment…", "Page not found"), its phrases ("Checking if the site
  connection is secure", "Accept all"), or a vendor's markup (`_cf_chl_opt`, DataDome's
  captcha-delivery.com).

Cheap checks first: most pages are articles and leave after one pass over the extracted body.
Pure functions over the lxml tree, the extracted body and the HTTP status; no second
trafilatura pass.
"""

from __future__ import annotations

import re
from typing import Literal

from lxml.html import HtmlElement

from tasks.page import jsonld

JunkKind = Literal["challenge", "consent", "signin", "app_shell", "error_page"]

REASONS: dict[JunkKind, str] = {
    "challenge": "page is a bot challenge",
    "consent": "page is a consent wall",
    "signin": "page is a sign-in wall",
    "app_shell": "page is a JavaScript app shell",
    "error_page": "page is an error page served with 200",
}
HEALABLE: frozenset[JunkKind] = frozenset({"challenge", "consent"})
"""A challenge or a consent wall is in the way of this fetch, not of the article: a later
fetch (another edge server, the challenge's cookie gone stale, the wall's A/B test over) often
gets the article. A sign-in wall is the site's answer to every reader without an account (we
send no cookies, so a metered wall never shows us the article either); an app shell and an
error page are what the URL serves."""

_ARTICLE_WORDS = 150
"""Words of running text (lines that are not wall phrases) that make a body an article."""
_PIECE_WORDS = 6
"""Lines shorter than this (buttons, links, labels) are not running text."""
_SHORT_PAGE_WORDS = 120
"""A wall's page has less running text than this in all it shows (navigation included)."""
_NOTICE_WORDS = 20
"""Words of consent text that make an element a consent notice."""
_TEASER_WORDS = 25
"""Running words before a subscribe prompt that make a teaser rather than a sign-in wall."""


def _phrases(*parts: str) -> re.Pattern[str]:
    # Matched against lower-cased text: re.IGNORECASE makes these alternations 5x slower.
    return re.compile("|".join(parts))


_DOTS = r"(?:\.\.\.|…)?"
_CHALLENGE_TITLE = _phrases(
    rf"^(?:just a moment|un instant|einen moment|nur einen moment|un momento|one moment, please"
    rf"|bitte warten|veuillez patienter|por favor, espere){_DOTS}$",
    r"^attention required!? \| cloudflare$",
    r"^access denied(?: \| .* used cloudflare to restrict access)?$",
    r"^(?:zugriff verweigert|accès refusé|acceso denegado)$",
    r"^pardon our interruption",
    r"^ddos-guard$",
    r"^sucuri website firewall",
    r"^(?:are you a robot|robot or human|bist du ein roboter|êtes-vous un robot"
    r"|¿eres un robot)\??$",
    r"^(?:captcha|security check|sicherheitsüberprüfung|vérification de sécurité"
    r"|verificación de seguridad)$",
)
_CHALLENGE_TEXT = _phrases(
    r"checking if the site connection is secure",
    r"checking your browser before accessing",
    r"verify(?:ing)? (?:that )?you are (?:a )?human",
    r"needs to review the security of your connection",
    r"enable javascript and cookies to continue",
    r"performance (?:&|and) security by cloudflare",
    r"press (?:&|and) hold to confirm",
    r"please verify you are a human",
    r"incapsula incident id",
    r"request unsuccessful\. incapsula",
    r"you don.t have permission to access .* on this server",
    r"reference #\d+\.[0-9a-f]+\.\d+",
    r"sucuri website firewall",
    r"ddos protection by",
    r"please enable js and disable any ad blocker",
    r"überprüfen,? ob die (?:website-)?verbindung (?:der website )?sicher ist",
    r"bestätigen sie, dass sie ein mensch sind",
    r"verifizierung, dass sie ein mensch sind",
    r"muss die sicherheit ihrer verbindung überprüfen",
    r"aktivieren sie javascript und cookies, um fortzufahren",
    r"gedrückt,? um zu bestätigen",
    r"vérification (?:que|si) la connexion (?:au|du) site est sécurisée",
    r"vérif(?:iez|ication) que vous êtes (?:un )?humain",
    r"doit vérifier la sécurité de votre connexion",
    r"activez javascript et les cookies pour continuer",
    r"(?:appuyez et maintenez|maintenez appuyé)(?: enfoncé)?,? pour confirmer",
    r"comprobando si la conexión (?:del|al) sitio es segura",
    r"verifi(?:que|ca|cando) que (?:usted )?(?:es|eres) (?:un )?(?:ser )?humano",
    r"necesita revisar la seguridad de (?:su|tu) conexión",
    r"habilit[ae] javascript y (?:las )?cookies para continuar",
    r"mant(?:én|enga) pulsado para confirmar",
)
_CHALLENGE_MARKUP = _phrases(
    r"window\._cf_chl_opt",
    r"cf-browser-verification",
    r"\bcf-chl-",
    r"/cdn-cgi/challenge-platform/h/[a-z]/orchestrate",
    r"captcha-delivery\.com",
    r"\bpx-captcha\b",
    r"_incapsula_resource",
    r"sucuri_cloudproxy",
    r"ddos-guard\.net/",
    r"/_sec/cp_challenge/",
)

_CONSENT_TITLE = _phrases(
    r"^before you continue(?: to (?:google|youtube))?$",
    r"^bevor sie (?:zu google )?weitergehen$",
    r"^avant d.accéder à (?:google|youtube)$",
    r"^antes de (?:ir a|continuar a) (?:google|youtube)$",
    r"is part of the yahoo family of brands",
    r"ist teil der yahoo markenfamilie",
    r"fait partie de la famille de marques yahoo",
    r"forma parte de la familia de marcas de yahoo",
    r"^(?:cookie consent|privacy settings|your privacy choices|we value your privacy"
    r"|datenschutzeinstellungen|cookie-einstellungen|einwilligung|zustimmung"
    r"|paramètres de confidentialité|gestion des cookies|vos choix en matière de cookies"
    r"|configuración de privacidad|consentimiento de cookies|preferencias de cookies)$",
)
_CONSENT_ACTION = _phrases(
    r"\baccept all\b",
    r"\breject all\b",
    r"\baccept (?:all )?cookies\b",
    r"\bi (?:accept|agree)\b",
    r"\bmanage (?:privacy settings|options|preferences|cookies)\b",
    r"\balle akzeptieren\b",
    r"\balle ablehnen\b",
    r"\bakzeptieren und weiter\b",
    r"\bzustimmen und weiter\b",
    r"\beinstellungen verwalten\b",
    r"\btout accepter\b",
    r"\btout refuser\b",
    r"\baccepter et (?:continuer|fermer)\b",
    r"\bgérer (?:les|mes) (?:paramètres|préférences|options)\b",
    r"\baceptar todo\b",
    r"\brechazar todo\b",
    r"\baceptar (?:y continuar|las cookies|cookies)\b",
    r"\bgestionar (?:las )?(?:opciones|preferencias|cookies)\b",
)
_CONSENT_TEXT = _phrases(
    # Specific to consent notices: an article about a partnership or privacy keeps its lines.
    r"cookie",
    r"consent",
    r"\b(?:our|\d+) partners\b",
    r"\bvendors\b",
    r"personal (?:data|information)",
    r"legitimate interest",
    r"privacy (?:settings|policy|choices)",
    r"einwillig",
    r"zustimm",
    r"\bunsere[n]? (?:\d+ )?partner",
    r"personenbezogen",
    r"berechtigte[ns]? interesse",
    r"datenschutzeinstellungen",
    r"consentement",
    r"\bnos (?:\d+ )?partenaires",
    r"données personnelles",
    r"intérêt légitime",
    r"paramètres de confidentialité",
    r"consentimiento",
    r"\bnuestros (?:\d+ )?socios",
    r"datos personales",
    r"interés legítimo",
    r"(?:configuración|política) de privacidad",
)
_CONSENT_MARKUP = _phrases(
    r"onetrust-consent-sdk|onetrust-banner-sdk|otSDKStub|cdn\.cookielaw\.org",
    r"didomi-host|didomi-notice|sdk\.privacy-center\.org",
    r"sp_message_container|sp_message_iframe|sourcepoint|cdn\.privacy-mgmt\.com",
    r"qc-cmp2?-(?:container|ui)|quantcast\.mgr\.consensu\.org|cmp\.quantcast\.com",
    r"usercentrics-root|app\.usercentrics\.eu|uc-banner",
    r"cybotcookiebotdialog|consent\.cookiebot\.com",
    r"guce\.(?:yahoo|aol)\.com|consent\.(?:yahoo|google|youtube)\.com",
    r"__tcfapi",
)

_SIGNIN_TITLE = _phrases(
    r"^(?:sign in|log in|login|subscribe|subscriber login|create (?:an|your) account"
    r"|anmelden|einloggen|login für abonnenten|registrieren"
    r"|connexion|se connecter|identifiez-vous|s.abonner"
    r"|iniciar sesión|inicia sesión|acceder|suscríbete|regístrate)$",
)
_SIGNIN_TEXT = _phrases(
    r"(?:sign|log) in to (?:keep|continue) reading",
    r"(?:sign|log) in to read (?:this|the full|the rest)",
    r"subscribe to (?:keep|continue) reading",
    r"create a free account to (?:keep|continue) reading",
    r"(?:this|the) (?:article|story|content) is (?:only )?(?:available |reserved )?"
    r"(?:for|to) (?:subscribers|members)(?: only)?",
    r"already a subscriber\?",
    r"to continue reading,? (?:please )?(?:subscribe|sign in|log in|register)",
    r"(?:melden sie sich an|jetzt anmelden),? (?:um|und) (?:weiter ?zulesen|weiterlesen)",
    r"(?:jetzt )?(?:weiterlesen|lesen sie weiter) mit (?:\w+[+ ])?(?:abo|plus|pur)",
    r"dieser (?:artikel|beitrag|inhalt) ist (?:exklusiv |nur )?für (?:abonnenten|abonnent\*innen"
    r"|abonnentinnen und abonnenten|registrierte nutzer)",
    r"um (?:diesen artikel|den vollständigen artikel|weiter) zu lesen",
    r"sie sind bereits abonnent",
    r"connectez-vous pour (?:continuer|lire la suite)",
    r"identifiez-vous pour (?:continuer|lire la suite)",
    r"(?:cet article|ce contenu|la suite) est réservée? aux abonnés",
    r"abonnez-vous pour (?:lire|continuer)",
    r"il vous reste \d+\s?% de cet article à lire",
    r"déjà abonné\s?\?",
    r"inicia sesión para (?:seguir|continuar) leyendo",
    r"suscríbete para (?:seguir|continuar) leyendo",
    r"regístrate (?:gratis )?para (?:seguir|continuar) leyendo",
    r"(?:este|el) (?:artículo|contenido) es exclusivo para (?:suscriptores|socios|registrados)",
    r"contenido exclusivo para suscriptores",
    r"¿ya eres suscriptor\?",
    r"para (?:seguir|continuar) leyendo,? (?:suscríbete|inicia sesión|regístrate)",
)

_APP_SHELL_TEXT = _phrases(
    r"you need to enable javascript to run this app",
    r"(?:please )?enable javascript(?: in your browser)? to (?:view|use|continue|see|run)",
    r"this (?:site|website|app|page) requires javascript",
    r"javascript is (?:required|disabled)",
    r"sie müssen javascript aktivieren",
    r"(?:bitte )?aktivieren sie javascript",
    r"javascript (?:ist deaktiviert|wird benötigt)",
    r"vous devez activer javascript",
    r"veuillez activer (?:le )?javascript",
    r"javascript est (?:requis|désactivé|nécessaire)",
    r"necesitas (?:habilitar|activar) javascript",
    r"(?:por favor,? )?(?:habilita|activa) (?:el )?javascript",
    r"javascript (?:es necesario|está desactivado)",
)
_APP_ROOTS = frozenset({"root", "__next", "app", "__nuxt", "___gatsby", "svelte"})

_ERROR_TITLE = _phrases(
    r"^(?:(?:error|fehler|erreur) )?404(?: (?:error|fehler|erreur))?$",
    r"^(?:404 )?(?:page|file) not found(?: \(?404\)?)?$",
    r"^(?:404 )?not found$",
    r"^(?:oops|sorry)[!,.]? (?:(?:this|that|the) page (?:can.t|could not|cannot) be found"
    r"|page not found)$",
    r"^(?:the )?page (?:you requested )?(?:does not|doesn.t) exist$",
    r"^(?:(?:fehler|error) 404 )?seite nicht gefunden$",
    r"^(?:die )?seite (?:wurde nicht gefunden|existiert nicht)$",
    r"^(?:(?:erreur|error) 404 )?page (?:introuvable|non trouvée)$",
    r"^(?:cette )?page n.existe pas$",
    r"^(?:(?:error) 404 )?página no encontrada$",
    r"^(?:la )?página no existe$",
    r"^no se (?:ha )?encontr(?:ó|ado) la página$",
)
_ERROR_TEXT = _phrases(
    r"the page you (?:are|were|re) looking for (?:can.t|could not|cannot|does not|doesn.t"
    r"|may have|might have|was|is|has)",
    r"(?:this|that|the requested) page (?:can.t|could not|cannot) be found",
    r"die (?:von ihnen )?(?:gesuchte|angeforderte|aufgerufene) seite",
    r"seite (?:wurde )?nicht gefunden",
    r"la page (?:que vous (?:recherchez|cherchez|avez demandée)|demandée)",
    r"page (?:introuvable|non trouvée)",
    r"la página (?:que (?:buscas|busca|estás buscando|solicitaste)|solicitada)",
    r"página no encontrada",
    r"\b404\b",
)

_WALL_LINE = re.compile(
    "|".join(
        f"(?:{p.pattern})"
        for p in (
            _CHALLENGE_TEXT,
            _CONSENT_ACTION,
            _CONSENT_TEXT,
            _SIGNIN_TEXT,
            _APP_SHELL_TEXT,
            _ERROR_TEXT,
        )
    )
)
_SUBSCRIBE_PROMPT = _SIGNIN_TEXT
_PROMPT_TAIL = 3
"""Lines at the end of a body, or right after it on the page, where a subscribe prompt makes
it a teaser."""
_TEASER_MAX_WORDS = 400
"""A body this long is not looked for a prompt after it on the page (that costs a pass over
the page): teasers are a few paragraphs."""
_WHOLE_SHARE = 0.8
"""A body with this share of the article's declared `wordCount` is the whole article."""
_WHOLE_WORDS = 800
"""A body this long is the article, whatever the page declares: teasers are a few paragraphs
(Scientific American declares every article not free and serves all of it)."""
_FALSE = frozenset({"false", "no", "0"})


def running_words(text: str, enough: int | None = None) -> int:
    """Words in the lines of `text` that are sentences, not wall phrases, buttons or links;
    counting stops once `enough` are found."""
    total = 0
    for line in text.splitlines():
        words = len(line.split())
        if words >= _PIECE_WORDS and not _WALL_LINE.search(line.lower()):
            total += words
            if enough is not None and total >= enough:
                break
    return total


def classify_junk(tree: HtmlElement, body: str, http_status: int | None = 200) -> JunkKind | None:
    """The kind of page served in place of the article, or None for an article.

    `body` is the text extracted from the page (empty when none was). `http_status` other than
    a 2xx asks only whether the page is a bot challenge: what else an error page is does not
    change what is done with it.
    """
    body_words = running_words(body, enough=_ARTICLE_WORDS)
    if body_words >= _ARTICLE_WORDS:
        return None
    titles = _title_segments(tree)
    visible = visible_lines(tree)
    shown = "\n".join(visible).lower()
    page_words = running_words(shown, enough=_SHORT_PAGE_WORDS)
    short = page_words < _SHORT_PAGE_WORDS

    if short and (
        _any(_CHALLENGE_TITLE, titles)
        or _CHALLENGE_MARKUP.search(_markup(tree))
        or _CHALLENGE_TEXT.search(shown)
    ):
        return "challenge"
    if http_status is not None and not 200 <= http_status < 300:
        return None
    if short and (
        _any(_CONSENT_TITLE, titles)
        or (_CONSENT_ACTION.search(shown) and _only_a_consent_notice(tree))
    ):
        return "consent"
    # A headline and a lead before the prompt are a teaser (`is_partial`), not a wall.
    if (
        short
        and body_words < _TEASER_WORDS
        and (_any(_SIGNIN_TITLE, titles) or _SIGNIN_TEXT.search(shown))
    ):
        return "signin"
    if page_words < _TEASER_WORDS and (
        _APP_SHELL_TEXT.search(shown)
        or _APP_SHELL_TEXT.search(_noscript(tree))
        or _empty_app_root(tree)
    ):
        return "app_shell"
    if _any(_ERROR_TITLE, titles) or _any(_ERROR_TITLE, _h1s(tree)):
        return "error_page"
    return None


def challenge_in(tree: HtmlElement) -> bool:
    """Whether an error response's page (a 403, a 429, a 503) is a bot challenge."""
    return classify_junk(tree, "", http_status=403) == "challenge"


def is_partial(tree: HtmlElement, body: str) -> bool:
    """Whether the article's text is a teaser: the page declares its content not free
    (`isAccessibleForFree: false` on the article or one of its `hasPart`s, as Google documents
    paywalled content), or the text ends in a subscribe prompt, in the body or on the page
    right after the body's last line (extraction drops a paywall's box)."""
    if _declared_not_free(tree, body):
        return True
    lines = [line for line in body.splitlines() if line.strip()]
    if not lines:
        return False
    if any(_is_prompt(line) for line in lines[-_PROMPT_TAIL:]):
        return True
    if running_words(body, enough=_TEASER_MAX_WORDS) >= _TEASER_MAX_WORDS:
        return False
    last = " ".join(lines[-1].split())[:80]
    visible = visible_lines(tree)
    ends = [i for i, line in enumerate(visible) if line.startswith(last)]
    return bool(ends) and any(_is_prompt(line) for line in visible[ends[-1] + 1 :][:_PROMPT_TAIL])


def strip_prompt(body: str) -> str:
    """`body` without the subscribe prompt lines that end a teaser."""
    lines = body.splitlines()
    while lines and (not lines[-1].strip() or _is_prompt(lines[-1])):
        lines.pop()
    return "\n".join(lines) if lines else body


def _is_prompt(line: str) -> bool:
    return len(line) < 300 and _SUBSCRIBE_PROMPT.search(line.lower()) is not None


def _declared_not_free(tree: HtmlElement, body: str) -> bool:
    """The page says part of its article is not free, and that part is not on the page: the
    element its `cssSelector` names is missing or nearly empty, and the body is short and
    shorter than the `wordCount` it declares. Sites that serve the whole text to every reader
    (and mark it up for search engines) are not partial."""
    declared = False
    selectors: list[str] = []
    word_counts: list[int] = []
    for node in jsonld.top_nodes(tree):
        if not _is_page_or_article(node):
            continue
        count = node.get("wordCount")
        if isinstance(count, int | str) and str(count).strip().isdigit():
            word_counts.append(int(str(count).strip()))
        parts = node.get("hasPart")
        for part in [node, *(parts if isinstance(parts, list) else [parts])]:
            if isinstance(part, dict) and _not_free(part.get("isAccessibleForFree")):
                declared = True
                selector = part.get("cssSelector")
                if isinstance(selector, str):
                    selectors.append(selector)
    if not declared:
        return False
    words = len(body.split())
    if words >= _WHOLE_WORDS or (word_counts and words >= _WHOLE_SHARE * max(word_counts)):
        return False
    return not any(_words_in(tree, selector) >= _TEASER_WORDS * 4 for selector in selectors)


def _words_in(tree: HtmlElement, selector: str) -> int:
    """Words of text in the elements a simple selector (`.class`, `#id`, a list of them)
    names; other selectors count as absent."""
    total = 0
    for one in selector.split(","):
        one = one.strip()
        if re.fullmatch(r"\.[\w-]+", one):
            found = tree.find_class(one[1:])
        elif re.fullmatch(r"#[\w-]+", one):
            found = tree.xpath("//*[@id=$id]", id=one[1:])
        else:
            continue
        total += sum(len(element.text_content().split()) for element in found)
    return total


def _is_page_or_article(node: dict[str, object]) -> bool:
    types = jsonld.type_names(node)
    return bool(types & jsonld.ARTICLE_TYPES) or bool(types & {"webpage", "creativework"})


def _not_free(value: object) -> bool:
    if isinstance(value, bool):
        return not value
    return isinstance(value, str) and value.strip().lower() in _FALSE


_TITLE_SEPARATOR = re.compile(r"\s+[-–—|:·»]\s+|\s*[|·»]\s*")


def _title_segments(tree: HtmlElement) -> list[str]:
    """The `<title>`, lower-cased, and each of its parts: "Page not found | Daily Example"
    is also "page not found"."""
    for element in tree.iter("title"):
        title = " ".join(element.text_content().split()).lower()[:300]
        return [title, *(p for p in _TITLE_SEPARATOR.split(title) if p and p != title)]
    return []


def _any(pattern: re.Pattern[str], texts: list[str]) -> bool:
    return any(pattern.search(text) for text in texts)


def _noscript(tree: HtmlElement) -> str:
    return " ".join(" ".join(n.text_content().split()) for n in tree.iter("noscript")).lower()


def _h1s(tree: HtmlElement) -> list[str]:
    return [" ".join(h.text_content().split()).lower()[:200] for h in tree.iter("h1")]


_HIDDEN = frozenset({"script", "style", "noscript", "template", "svg", "head", "title"})


def visible_lines(tree: HtmlElement, leave_out: HtmlElement | None = None) -> list[str]:
    """The text a reader sees, one piece per run of text between tags: the head, scripts,
    styles and `noscript` left out (and `leave_out`, but the text after it)."""
    lines: list[str] = []
    stack: list[HtmlElement | str] = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            lines.append(item)
            continue
        if not isinstance(item.tag, str) or item.tag in _HIDDEN or item is leave_out:
            continue
        if item.text and item.text.strip():
            lines.append(" ".join(item.text.split()))
        # Depth first in document order: each child, then the text that follows it.
        for child in reversed(item):
            if child.tail and child.tail.strip():
                stack.append(" ".join(child.tail.split()))
            stack.append(child)
    return lines


def _only_a_consent_notice(tree: HtmlElement) -> bool:
    """Whether the page shows a consent notice and next to nothing else: the notice is the
    smallest element around an "Accept all" button that holds its consent text, and outside
    it the page has less running text than `_TEASER_WORDS` (an article under a banner has its
    article there, even one about privacy)."""
    for button in tree.iter("button", "a", "input"):
        label = button.get("value") if button.tag == "input" else button.text_content()
        if not label or len(label) > 60 or not _CONSENT_ACTION.search(label.lower()):
            continue
        notice = button.getparent()
        while notice is not None and notice.tag not in ("body", "html"):
            if _consent_words(notice) >= _NOTICE_WORDS:
                break
            notice = notice.getparent()
        # A notice is an element of its own: text that reaches `<body>` is the page's.
        if notice is None or notice.tag in ("body", "html"):
            continue
        outside = visible_lines(tree, leave_out=notice)
        return sum(len(x.split()) for x in outside if len(x.split()) >= _PIECE_WORDS) < (
            _TEASER_WORDS
        )
    return False


def _consent_words(element: HtmlElement) -> int:
    return sum(
        len(line.split()) for line in visible_lines(element) if _CONSENT_TEXT.search(line.lower())
    )


def _markup(tree: HtmlElement) -> str:
    """Ids, classes and script sources and texts: where vendors' markup shows."""
    marks = []
    for element in tree.iter("script", "div", "form", "iframe", "body", "link"):
        for name in ("id", "class", "src", "href", "action"):
            value = element.get(name)
            if value:
                marks.append(value)
        if element.tag == "script" and element.text:
            marks.append(element.text[:2000])
    return " ".join(marks).lower()


def _empty_app_root(tree: HtmlElement) -> bool:
    return any(
        (element.get("id") in _APP_ROOTS or element.tag == "app-root")
        and not element.text_content().strip()
        for element in tree.iter("div", "main", "app-root")
    )
