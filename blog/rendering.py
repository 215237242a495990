"""Markdown to HTML that is safe to put on the shop's pages.

Markdown passes raw HTML through, so every rendering is sanitised by nh3
with an explicit allow-list: no script, style, frame, form or embed element,
no event-handler or style attribute, and only http, https and mailto links
(relative links stay). Links get ``rel="noopener noreferrer nofollow"``.
"""

import math
import re

import markdown
import nh3
from django.conf import settings

MARKDOWN_EXTENSIONS = ("fenced_code", "tables", "sane_lists")

ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "code",
        "del",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "li",
        "ol",
        "p",
        "pre",
        "s",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    }
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "code": {"class"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "td": {"align"},
    "th": {"align"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"

# Fenced code blocks mark their language as class="language-python"; no
# other class may reach the page, where it could borrow the shop's styles.
_LANGUAGE_CLASS = re.compile(r"^language-[a-z0-9_+-]{1,30}$")
_WORD = re.compile(r"\w+")


def _keep_attribute(element: str, attribute: str, value: str) -> str | None:
    if attribute == "class":
        return value if _LANGUAGE_CLASS.match(value) else None
    return value


_cleaner = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags={"script", "style"},
    attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
    attribute_filter=_keep_attribute,
    url_schemes=set(URL_SCHEMES),
    link_rel=LINK_REL,
    strip_comments=True,
)


def render_markdown(body: str) -> str:
    """The sanitised HTML of a Markdown body."""
    html = markdown.markdown(body or "", extensions=list(MARKDOWN_EXTENSIONS))
    return _cleaner.clean(html)


def reading_minutes(body: str) -> int:
    """Minutes to read the body at the shop's reading speed, at least one."""
    words = len(_WORD.findall(body or ""))
    return max(1, math.ceil(words / settings.BLOG_WORDS_PER_MINUTE))


_UNSAFE_MARKUP = re.compile(
    r"<\s*/?\s*(script|iframe|frame|object|embed|style|form|svg|math)\b"
    r"|\bon[a-z]+\s*="
    r"|javascript\s*:"
    r"|vbscript\s*:",
    re.IGNORECASE,
)


def unsafe_markup(body: str) -> str | None:
    """The first piece of markup the sanitiser would remove, or ``None``.

    Editors are told about it rather than have part of a post vanish
    silently; the sanitiser still runs on every save whatever this says.
    """
    match = _UNSAFE_MARKUP.search(body or "")
    return match.group(0) if match else None
