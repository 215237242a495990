from http import HTTPStatus
from xml.etree import ElementTree

import pytest

from blog.tests.factories import DraftFactory, PostFactory, ScheduledFactory, TagFactory

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


def _parse(content: bytes) -> ElementTree.Element:
    # The feed is this project's own output, built in the test.
    return ElementTree.fromstring(content)  # noqa: S314


@pytest.mark.parametrize("path", ["/blog/feed", "/blog/feed/"])
def test_rss_feed_lists_live_posts_only(client, path):
    live = PostFactory(title="Live guide", tags=[TagFactory(name="Apple")])
    DraftFactory(title="Draft guide")
    ScheduledFactory(title="Scheduled guide")

    response = client.get(path)

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("application/rss+xml")
    channel = _parse(response.content).find("channel")
    items = channel.findall("item")
    assert [item.findtext("title") for item in items] == ["Live guide"]
    assert items[0].findtext("link") == f"http://testserver/blog/{live.slug}"
    assert items[0].findtext("category") == "Apple"


def test_feed_is_never_taken_for_a_post_slug(client):
    PostFactory()

    response = client.get("/blog/feed/")

    assert response.status_code == HTTPStatus.OK
    assert b"<rss" in response.content


def test_feed_carries_the_sanitised_html(client):
    PostFactory(body="**bold** <img src=x onerror=alert(1)>")

    response = client.get("/blog/feed/")

    description = _parse(response.content).find("channel/item/description").text
    assert "<strong>bold</strong>" in description
    assert "onerror" not in description


@pytest.mark.parametrize("path", ["/blog/feed/atom", "/blog/feed/atom/"])
def test_atom_feed_lists_live_posts(client, path):
    PostFactory(title="Live guide")
    DraftFactory(title="Draft guide")

    response = client.get(path)

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("application/atom+xml")
    root = _parse(response.content)
    titles = [entry.findtext(f"{ATOM}title") for entry in root.iter(f"{ATOM}entry")]
    assert titles == ["Live guide"]


def test_feed_holds_at_most_the_configured_number_of_posts(client, settings):
    settings.BLOG_FEED_ITEMS = 2
    PostFactory.create_batch(4)

    response = client.get("/blog/feed/")

    assert len(_parse(response.content).findall("channel/item")) == 2


def test_feed_queries_do_not_grow_with_posts(client, max_queries_all_databases):
    for _ in range(10):
        PostFactory(tags=TagFactory.create_batch(2))

    with max_queries_all_databases(3):
        response = client.get("/blog/feed/")

    assert response.status_code == HTTPStatus.OK
