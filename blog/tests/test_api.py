from datetime import timedelta
from http import HTTPStatus

import pytest
from django.core.cache import cache
from django.test import RequestFactory
from django.utils import timezone, translation

from blog import selectors
from blog.tests.factories import (
    DraftFactory,
    PostFactory,
    ProductFactory,
    ScheduledFactory,
    StaffFactory,
    TagFactory,
)
from blog.views import BLOG_LIST_RESPONSES

pytestmark = pytest.mark.django_db


def _slugs(response):
    return [item["slug"] for item in response.json()["results"]]


def test_list_shows_only_live_posts_newest_first(api_client):
    now = timezone.now()
    older = PostFactory(published_at=now - timedelta(days=2))
    newer = PostFactory(published_at=now - timedelta(hours=1))
    DraftFactory()
    ScheduledFactory()

    response = api_client.get("/blog/")

    assert response.status_code == HTTPStatus.OK
    assert _slugs(response) == [newer.slug, older.slug]
    assert response.json()["count"] == 2


def test_list_items_carry_no_body(api_client):
    tag = TagFactory(name="Apple", slug="apple")
    PostFactory(body="the secret body text", tags=[tag])

    item = api_client.get("/blog/").json()["results"][0]

    assert "body" not in item
    assert "html" not in item
    assert "the secret body text" not in str(item)
    assert item["tags"] == [{"name": "Apple", "slug": "apple"}]
    assert set(item) >= {"title", "slug", "excerpt", "published_at", "reading_minutes"}


@pytest.mark.parametrize("path", ["/blog", "/blog/"])
def test_list_answers_with_and_without_trailing_slash(api_client, path):
    PostFactory()

    response = api_client.get(path)

    assert response.status_code == HTTPStatus.OK
    assert response.json()["count"] == 1


def test_list_is_paginated(api_client):
    PostFactory.create_batch(3)

    response = api_client.get("/blog/", {"page_size": 2})

    assert response.json()["count"] == 3
    assert len(response.json()["results"]) == 2
    assert response.json()["next"] is not None


def test_list_filters_by_tag(api_client):
    apple = TagFactory(slug="apple")
    tagged = PostFactory(tags=[apple])
    PostFactory(tags=[TagFactory(slug="steam")])

    response = api_client.get("/blog/", {"tag": "apple"})

    assert _slugs(response) == [tagged.slug]


def test_known_tag_without_live_posts_gives_an_empty_list(api_client):
    TagFactory(slug="apple")
    DraftFactory(tags=[TagFactory(slug="steam")])

    response = api_client.get("/blog/", {"tag": "steam"})

    assert response.status_code == HTTPStatus.OK
    assert response.json()["count"] == 0


@pytest.mark.parametrize("tag", ["no-such-tag", "%00", "' OR 1=1 --"])
def test_unknown_tag_filter_is_a_clear_error(api_client, tag):
    PostFactory(tags=[TagFactory(slug="apple")])

    response = api_client.get("/blog/", {"tag": tag})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "unknown_tag"


def test_overlong_filters_are_validation_errors(api_client):
    response = api_client.get("/blog/", {"search": "x" * 101})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "validation_error"
    assert "search" in response.json()["fields"]


def test_search_looks_in_title_and_body(api_client):
    in_title = PostFactory(title="Steam wallet in Turkey", body="x")
    in_body = PostFactory(title="Gaming news", body="Top up your STEAM wallet")
    PostFactory(title="Apple Music", body="Family plan")
    DraftFactory(title="Steam draft")

    response = api_client.get("/blog/", {"search": "steam"})

    assert sorted(_slugs(response)) == sorted([in_title.slug, in_body.slug])


def test_search_finds_persian_words(api_client):
    post = PostFactory(title="راهنمای خرید گیفت کارت", body="متن")

    response = api_client.get("/blog/", {"search": "گیفت"})

    assert _slugs(response) == [post.slug]


def test_scheduled_post_appears_once_its_time_has_come(api_client, monkeypatch):
    at = timezone.now() + timedelta(hours=2)
    post = ScheduledFactory(published_at=at)
    before = api_client.get("/blog/")
    before_detail = api_client.get(f"/blog/{post.slug}")

    monkeypatch.setattr(timezone, "now", lambda: at + timedelta(seconds=1))
    after = api_client.get("/blog/")
    after_detail = api_client.get(f"/blog/{post.slug}")

    assert _slugs(before) == []
    assert before_detail.status_code == HTTPStatus.NOT_FOUND
    assert _slugs(after) == [post.slug]
    assert after_detail.status_code == HTTPStatus.OK


@pytest.mark.parametrize(
    "query", [{"tag": "apple"}, {"search": "steam"}], ids=["tag", "search"]
)
def test_an_empty_filtered_list_is_not_served_past_a_scheduled_post(
    api_client, monkeypatch, django_assert_num_queries, query
):
    at = timezone.now() + timedelta(hours=2)
    PostFactory(title="Apple Music family plan", tags=[TagFactory(slug="music")])
    post = ScheduledFactory(
        title="Steam wallet in Turkey",
        published_at=at,
        tags=[TagFactory(slug="apple")],
    )
    before = api_client.get("/blog/", query)
    with django_assert_num_queries(0):
        cached = api_client.get("/blog/", query)

    monkeypatch.setattr(timezone, "now", lambda: at + timedelta(seconds=1))
    after = api_client.get("/blog/", query)

    assert _slugs(before) == _slugs(cached) == []
    assert _slugs(after) == [post.slug]


def test_a_filtered_list_is_cached_no_later_than_any_scheduled_post(api_client):
    """A scheduled post outside the filter ends the cached page too: the
    next publication is read over every scheduled post."""
    PostFactory(tags=[TagFactory(slug="apple")])
    at = timezone.now() + timedelta(minutes=10)
    ScheduledFactory(published_at=at, tags=[TagFactory(slug="steam")])

    api_client.get("/blog/", {"tag": "apple"})

    with translation.override("en"):
        key = BLOG_LIST_RESPONSES.key(RequestFactory().get("/blog/", {"tag": "apple"}))
    assert cache.get(key).fresh_until == at.timestamp()


def test_list_stays_within_three_queries(api_client, max_queries_all_databases):
    """The count with the next scheduled post's time (which ends the life of
    the cached page), the page, its tags."""
    tags = TagFactory.create_batch(3)
    for _ in range(15):
        PostFactory(tags=tags, products=[ProductFactory()])
    ScheduledFactory(tags=tags)

    with max_queries_all_databases(3):
        response = api_client.get("/blog/")

    assert len(response.json()["results"]) == 15


@pytest.mark.parametrize(
    "query",
    [
        {"tag": "apple", "search": "redeem"},
        {"tag": "apple", "page_size": 2, "page": 3},
        {"search": "nothing matches this"},
        {"tag": "steam"},
    ],
    ids=["tag-and-search", "last-page", "empty-search", "empty-tag"],
)
def test_filtered_list_stays_within_three_queries(
    api_client, max_queries_all_databases, query
):
    apple = TagFactory(slug="apple")
    TagFactory(slug="steam")
    PostFactory.create_batch(5, tags=[apple])
    ScheduledFactory(tags=[apple])

    with max_queries_all_databases(3):
        response = api_client.get("/blog/", query)

    assert response.status_code == HTTPStatus.OK


def test_unknown_tag_stays_within_three_queries(api_client, max_queries_all_databases):
    PostFactory.create_batch(2, tags=[TagFactory(slug="apple")])

    with max_queries_all_databases(3):
        response = api_client.get("/blog/", {"tag": "missing"})

    assert response.json()["code"] == "unknown_tag"


def test_count_and_page_agree_when_a_post_goes_live_between_them(
    api_client, monkeypatch
):
    """The count and the page are read for one instant, so a post going live
    between the two queries cannot make them disagree."""
    at = timezone.now() + timedelta(minutes=5)
    live = PostFactory()
    ScheduledFactory(published_at=at)
    clock = {"now": at - timedelta(seconds=1)}
    monkeypatch.setattr(timezone, "now", lambda: clock["now"])
    read_summary = selectors.post_list_summary

    def summary_then_time_passes(**kwargs):
        summary = read_summary(**kwargs)
        clock["now"] = at + timedelta(seconds=1)
        return summary

    monkeypatch.setattr(selectors, "post_list_summary", summary_then_time_passes)

    response = api_client.get("/blog/")

    assert response.json()["count"] == 1
    assert _slugs(response) == [live.slug]


@pytest.mark.parametrize("suffix", ["", "/"])
def test_detail_shows_the_rendered_html_tags_and_products(api_client, suffix):
    tag = TagFactory(name="Apple", slug="apple")
    product = ProductFactory(name="Apple card TR", slug="apple-card-tr")
    post = PostFactory(
        body="# Redeem\n\nTap **Redeem**.", tags=[tag], products=[product]
    )

    response = api_client.get(f"/blog/{post.slug}{suffix}")

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert "<strong>Redeem</strong>" in body["html"]
    assert body["tags"] == [{"name": "Apple", "slug": "apple"}]
    assert body["products"] == [
        {"id": product.pk, "name": "Apple card TR", "slug": "apple-card-tr"}
    ]
    assert "body" not in body


def test_detail_lists_only_linked_products_the_catalog_shows(api_client):
    active = ProductFactory()
    inactive = ProductFactory(is_active=False)
    hidden_category = ProductFactory(category__is_active=False)
    post = PostFactory(products=[active, inactive, hidden_category])

    response = api_client.get(f"/blog/{post.slug}")

    assert [p["id"] for p in response.json()["products"]] == [active.pk]


def test_detail_falls_back_to_title_and_excerpt_for_search_engines(api_client):
    post = PostFactory(title="Title", excerpt="Short", seo_title="", seo_description="")

    body = api_client.get(f"/blog/{post.slug}").json()

    assert (body["seo_title"], body["seo_description"]) == ("Title", "Short")


def test_detail_shows_the_author_name_and_never_the_email(api_client):
    author = StaffFactory(first_name="Sara", last_name="Karimi")
    post = PostFactory(author=author)

    body = api_client.get(f"/blog/{post.slug}").json()

    assert body["author"] == "Sara Karimi"
    assert author.email not in str(body)


def test_detail_of_a_persian_slug(api_client):
    post = PostFactory(slug="راهنمای-خرید")

    response = api_client.get("/blog/راهنمای-خرید")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["id"] == post.pk


def test_detail_stays_within_four_queries(api_client, max_queries_all_databases):
    post = PostFactory(
        tags=TagFactory.create_batch(5), products=ProductFactory.create_batch(5)
    )

    with max_queries_all_databases(4):
        response = api_client.get(f"/blog/{post.slug}")

    assert len(response.json()["products"]) == 5


@pytest.mark.parametrize(
    "make",
    [
        lambda: DraftFactory(slug="hidden"),
        lambda: ScheduledFactory(slug="hidden"),
        lambda: None,
    ],
    ids=["draft", "scheduled", "unknown"],
)
def test_hidden_or_unknown_post_is_a_404_in_the_error_shape(api_client, make):
    make()

    response = api_client.get("/blog/hidden")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("who", ["customer", "staff", "superuser"])
def test_drafts_stay_hidden_from_logged_in_users(api_client, who):
    user = StaffFactory(is_staff=who != "customer", is_superuser=who == "superuser")
    api_client.force_authenticate(user=user)
    DraftFactory(slug="hidden", author=StaffFactory())

    response = api_client.get("/blog/hidden")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == "not_found"


def test_unpublished_post_disappears(api_client):
    from blog import services

    post = PostFactory(slug="gone")
    services.post_unpublish(post=post)

    response = api_client.get("/blog/gone")

    assert response.status_code == HTTPStatus.NOT_FOUND


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_blog_api_is_read_only(api_client, method):
    post = PostFactory()

    response = getattr(api_client, method)(f"/blog/{post.slug}", {"title": "x"})

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response.json()["code"] == "method_not_allowed"


def test_a_broken_page_number_is_a_404_in_the_error_shape(api_client):
    response = api_client.get("/blog/", {"page": "abc"})

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == "not_found"
