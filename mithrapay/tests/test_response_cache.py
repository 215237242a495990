"""Cached public reads: identical answers, served before DRF, auth kept."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.core.cache import cache
from django.test import RequestFactory
from django.utils import timezone, translation
from rest_framework.test import APIClient
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import AccessToken

from accounts.tests.factories import UserFactory
from blog import services as blog_services
from blog.tests.factories import PostFactory, ScheduledFactory, TagFactory
from blog.views import BLOG_LIST_RESPONSES
from catalog.tests.factories import CategoryFactory, DigitalCodeFactory, VariantFactory
from mithrapay import response_cache
from mithrapay.response_cache import Entry

pytestmark = pytest.mark.django_db

# A fresh id per request; everything else must match byte for byte.
PER_REQUEST_HEADERS = {"X-Request-ID"}


@pytest.fixture
def catalog_and_blog():
    product = DigitalCodeFactory(
        variant=VariantFactory(product__category=CategoryFactory(slug="gifts"))
    ).variant.product
    VariantFactory(product=product, region="DE")
    PostFactory.create_batch(3, tags=[TagFactory(slug="apple"), TagFactory()])
    return product


def _paths(product) -> list[str]:
    return [
        "/products/",
        "/products/?page_size=1&ordering=-price",
        f"/products/{product.pk}",
        f"/products/{product.slug}/",
        "/categories/",
        "/blog/",
        "/blog/?tag=apple",
    ]


def _answer(response) -> tuple:
    headers = {
        name: value
        for name, value in response.headers.items()
        if name not in PER_REQUEST_HEADERS
    }
    return response.status_code, headers, response.content


class DispatchSpy:
    def __init__(self, monkeypatch):
        self.calls = 0
        original = APIView.initial

        def initial(view, request, *args, **kwargs):
            self.calls += 1
            return original(view, request, *args, **kwargs)

        monkeypatch.setattr(APIView, "initial", initial)


@pytest.mark.parametrize("language", ["en", "fa"])
def test_a_cached_answer_is_identical_to_an_uncached_one(
    client, settings, catalog_and_blog, language
):
    for path in _paths(catalog_and_blog):
        settings.RESPONSE_CACHE_ENABLED = False
        uncached = client.get(path, HTTP_ACCEPT_LANGUAGE=language)
        settings.RESPONSE_CACHE_ENABLED = True
        stored = client.get(path, HTTP_ACCEPT_LANGUAGE=language)
        replayed = client.get(path, HTTP_ACCEPT_LANGUAGE=language)

        assert uncached.status_code == HTTPStatus.OK, path
        assert _answer(stored) == _answer(uncached), path
        assert _answer(replayed) == _answer(uncached), path
        assert replayed["Content-Language"] == language


def test_a_hit_through_drf_is_identical_too(client, catalog_and_blog):
    user = UserFactory()
    bearer = f"Bearer {AccessToken.for_user(user)}"
    for path in _paths(catalog_and_blog):
        anonymous = client.get(path)

        with_token = client.get(path, HTTP_AUTHORIZATION=bearer)

        assert _answer(with_token) == _answer(anonymous), path


def test_a_plain_anonymous_hit_skips_drf_and_the_database(
    client, catalog_and_blog, monkeypatch, max_queries_all_databases
):
    paths = _paths(catalog_and_blog)
    for path in paths:
        client.get(path)
    spy = DispatchSpy(monkeypatch)

    with max_queries_all_databases(0):
        for path in paths:
            for accept in (
                {},
                {"HTTP_ACCEPT": "*/*"},
                {"HTTP_ACCEPT": "application/json"},
            ):
                response = client.get(path, **accept)
                assert response.status_code == HTTPStatus.OK

    assert spy.calls == 0


def test_a_bad_token_is_refused_even_for_a_cached_page(client, catalog_and_blog):
    client.get("/products/")

    response = client.get("/products/", HTTP_AUTHORIZATION="Bearer not-a-token")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "token_not_valid"


def test_a_token_request_is_authenticated_then_served_from_the_cache(
    client, catalog_and_blog, monkeypatch, max_queries_all_databases
):
    user = UserFactory()
    client.get("/products/")
    spy = DispatchSpy(monkeypatch)

    with max_queries_all_databases(1) as log:
        response = client.get(
            "/products/", HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}"
        )

    assert response.status_code == HTTPStatus.OK
    assert spy.calls == 1
    assert "accounts_user" in log.queries[0][1]


def test_another_media_type_is_rendered_for_it_and_never_stored(
    client, catalog_and_blog
):
    indented = client.get("/products/", HTTP_ACCEPT="application/json; indent=2")
    plain = client.get("/products/")
    indented_again = client.get("/products/", HTTP_ACCEPT="application/json; indent=2")

    assert indented.content.startswith(b"{\n  ")
    assert not plain.content.startswith(b"{\n")
    assert _answer(indented_again) == _answer(indented)


@pytest.mark.parametrize("accept", ["text/html", ""])
def test_an_unacceptable_media_type_is_refused_even_when_cached(
    client, catalog_and_blog, accept
):
    client.get("/products/")

    response = client.get("/products/", HTTP_ACCEPT=accept)

    assert response.status_code == HTTPStatus.NOT_ACCEPTABLE


def test_the_switch_turns_the_cache_off(
    client, settings, catalog_and_blog, max_queries_all_databases
):
    settings.RESPONSE_CACHE_ENABLED = False
    client.get("/blog/")

    with max_queries_all_databases(10) as log:
        client.get("/blog/")

    assert len(log) > 0


def test_a_cache_outage_serves_from_the_database(client, catalog_and_blog, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get_many", broken)

    responses = [client.get(path) for path in _paths(catalog_and_blog)]

    assert {r.status_code for r in responses} == {HTTPStatus.OK}


# --- The blog list ---------------------------------------------------------------


def test_the_blog_list_is_served_from_the_cache(client, max_queries_all_databases):
    PostFactory.create_batch(2)
    first = client.get("/blog/")

    with max_queries_all_databases(0):
        second = client.get("/blog/")

    assert second.content == first.content


@pytest.mark.parametrize(
    "write",
    [
        lambda post: blog_services.post_unpublish(post=post),
        lambda post: blog_services.post_update(post=post, data={"title": "New"}),
        lambda post: blog_services.post_create(
            author=post.author,
            title="Fresh",
            body="x",
            status="published",
            published_at=timezone.now() - timedelta(minutes=1),
        ),
    ],
    ids=["unpublish", "update", "create"],
)
def test_a_blog_write_makes_the_cached_list_stale(
    client, django_capture_on_commit_callbacks, write
):
    post = PostFactory(title="Old")
    before = client.get("/blog/").content

    with django_capture_on_commit_callbacks(execute=True):
        write(post)

    assert client.get("/blog/").content != before


def test_an_admin_edit_makes_the_cached_list_stale(
    admin_client, client, django_capture_on_commit_callbacks
):
    post = PostFactory(title="Old")
    client.get("/blog/")

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/admin/blog/post/{post.pk}/delete/", {"post": "yes"})

    assert client.get("/blog/").json()["count"] == 0


def test_a_cached_blog_list_ends_when_the_next_scheduled_post_goes_live(client):
    PostFactory()
    at = timezone.now() + timedelta(minutes=10)
    ScheduledFactory(published_at=at)

    client.get("/blog/")

    with translation.override("en"):
        key = BLOG_LIST_RESPONSES.key(RequestFactory().get("/blog/"))
    entry = cache.get(key)
    assert isinstance(entry, Entry)
    assert entry.fresh_until == at.timestamp()


def test_a_scheduled_post_shows_at_its_time_although_the_list_was_cached(
    client, monkeypatch
):
    PostFactory()
    at = timezone.now() + timedelta(hours=2)
    ScheduledFactory(published_at=at)
    before = client.get("/blog/").json()["count"]

    monkeypatch.setattr(timezone, "now", lambda: at + timedelta(seconds=1))
    after = client.get("/blog/").json()["count"]

    assert (before, after) == (1, 2)


@pytest.mark.redis
def test_redis_drops_a_cached_blog_list_by_the_next_publication():
    from django_redis import get_redis_connection

    PostFactory()
    ScheduledFactory(published_at=timezone.now() + timedelta(seconds=90))

    APIClient().get("/blog/")

    redis = get_redis_connection("default")
    [key] = redis.keys("*blog:response:*")
    assert 0 < redis.ttl(key) <= 90


def test_versions_survive_eviction_with_a_newer_number():
    key = "test:version"
    first = response_cache.version(key)
    cache.delete(key)

    assert response_cache.version(key) > first
