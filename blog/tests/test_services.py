from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from blog import services
from blog.errors import (
    AuthorNotStaff,
    SlugInvalid,
    SlugLocked,
    SlugReserved,
    SlugTaken,
    UnsafeMarkup,
)
from blog.models import Post
from blog.tests.factories import (
    DraftFactory,
    PostFactory,
    ProductFactory,
    ScheduledFactory,
    StaffFactory,
    TagFactory,
)
from mithrapay.tests.threads import run_together

pytestmark = pytest.mark.django_db


def test_post_create_makes_the_slug_from_the_title():
    post = services.post_create(
        author=StaffFactory(), title="Redeem an Apple Gift Card in Turkey", body="x"
    )

    assert post.slug == "redeem-an-apple-gift-card-in-turkey"
    assert post.status == Post.Status.DRAFT


def test_post_create_refuses_an_author_who_is_not_staff():
    customer = UserFactory(is_staff=False)

    with pytest.raises(AuthorNotStaff) as refused:
        services.post_create(author=customer, title="Sneaky", body="x")

    assert refused.value.code == "author_not_staff"
    assert not Post.objects.exists()


def test_persian_title_makes_a_usable_persian_slug():
    post = services.post_create(
        author=StaffFactory(), title="آموزش فعال‌سازی گیفت کارت اپل", body="x"
    )

    assert post.slug == "آموزش-فعالسازی-گیفت-کارت-اپل"
    assert Post.objects.get(slug=post.slug) == post


def test_generated_slug_is_numbered_when_the_title_repeats():
    author = StaffFactory()
    first = services.post_create(author=author, title="Weekly offers", body="x")

    second = services.post_create(author=author, title="Weekly offers", body="y")

    assert (first.slug, second.slug) == ("weekly-offers", "weekly-offers-2")


def test_title_without_letters_still_gets_a_slug():
    post = services.post_create(author=StaffFactory(), title="!!!", body="x")

    assert post.slug == "post"


def test_title_feed_never_takes_the_reserved_slug():
    post = services.post_create(author=StaffFactory(), title="Feed", body="x")

    assert post.slug == "post-feed"


def test_duplicate_slug_is_refused_with_its_code():
    PostFactory(slug="offers")

    with pytest.raises(SlugTaken) as caught:
        services.post_create(
            author=StaffFactory(), title="Other", body="x", slug="offers"
        )

    assert caught.value.code == "slug_taken"
    assert "slug" in caught.value.fields
    assert Post.objects.filter(title="Other").count() == 0


@pytest.mark.parametrize("slug", ["feed", "FEED"])
def test_reserved_slug_is_refused(slug):
    with pytest.raises(SlugReserved):
        services.post_create(author=StaffFactory(), title="x", body="x", slug=slug)


@pytest.mark.parametrize("slug", ["has space", "a/b", "a" * 201, "<b>"])
def test_malformed_slug_is_refused(slug):
    with pytest.raises(SlugInvalid):
        services.post_create(author=StaffFactory(), title="x", body="x", slug=slug)


def test_body_with_a_script_is_refused_and_nothing_is_saved():
    with pytest.raises(UnsafeMarkup) as caught:
        services.post_create(
            author=StaffFactory(), title="x", body="hi <script>alert(1)</script>"
        )

    assert caught.value.code == "unsafe_markup"
    assert Post.objects.count() == 0


def test_update_refuses_a_script_in_the_body_and_keeps_the_old_one():
    post = PostFactory(body="safe")

    with pytest.raises(UnsafeMarkup):
        services.post_update(post=post, data={"body": "<img src=x onerror=alert(1)>"})

    post.refresh_from_db()
    assert post.body == "safe"


def test_live_post_keeps_its_slug():
    post = PostFactory(slug="stable")

    with pytest.raises(SlugLocked) as caught:
        services.post_update(post=post, data={"slug": "renamed"})

    assert caught.value.code == "slug_locked"
    post.refresh_from_db()
    assert post.slug == "stable"


def test_draft_and_scheduled_posts_may_change_their_slug():
    draft = DraftFactory(slug="draft-a")
    scheduled = ScheduledFactory(slug="scheduled-a")

    services.post_update(post=draft, data={"slug": "draft-b"})
    services.post_update(post=scheduled, data={"slug": "scheduled-b"})

    assert Post.objects.filter(slug__in=["draft-b", "scheduled-b"]).count() == 2


def test_live_post_may_be_edited_without_touching_its_slug():
    post = PostFactory(slug="stable", body="old")
    tag = TagFactory()
    product = ProductFactory()

    services.post_update(
        post=post,
        data={
            "slug": "stable",
            "body": "new **text**",
            "tags": [tag],
            "products": [product],
        },
    )

    post.refresh_from_db()
    assert "<strong>text</strong>" in post.rendered_html
    assert list(post.tags.all()) == [tag]
    assert list(post.products.all()) == [product]


def test_update_refuses_fields_that_are_not_editable():
    post = PostFactory()

    with pytest.raises(ValueError, match="rendered_html"):
        services.post_update(post=post, data={"rendered_html": "<script>"})


def test_publish_now_makes_a_draft_live():
    post = DraftFactory()

    published = services.post_publish(post=post)

    assert published.is_live
    assert published.published_at <= timezone.now()


def test_publish_now_brings_a_scheduled_post_forward():
    post = ScheduledFactory()

    published = services.post_publish(post=post)

    assert published.is_live


def test_publish_now_keeps_the_original_time_of_a_live_post():
    original = timezone.now() - timedelta(days=10)
    post = PostFactory(published_at=original)

    services.post_publish(post=post)

    post.refresh_from_db()
    assert post.published_at == original


def test_publish_at_a_future_time_schedules_the_post():
    at = timezone.now() + timedelta(days=2)
    post = DraftFactory()

    published = services.post_publish(post=post, at=at)

    assert published.status == Post.Status.PUBLISHED
    assert published.published_at == at
    assert not published.is_live


def test_unpublish_turns_a_live_post_back_into_a_draft():
    post = PostFactory()

    services.post_unpublish(post=post)

    post.refresh_from_db()
    assert post.status == Post.Status.DRAFT
    assert not post.is_live


def test_saving_a_published_post_without_a_time_publishes_it_now():
    post = PostFactory(published_at=None)

    assert post.published_at is not None
    assert post.is_live


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_two_editors_saving_one_slug_at_once_get_one_post_and_one_slug_taken():
    author = StaffFactory()

    results = run_together(
        4,
        lambda i: services.post_create(
            author=author, title=f"Offer {i}", body="x", slug="black-friday"
        ),
    )

    created = [r for r in results if isinstance(r, Post)]
    refused = [r for r in results if isinstance(r, SlugTaken)]
    assert len(created) == 1
    assert len(refused) == 3
    assert Post.objects.filter(slug="black-friday").count() == 1


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_publishing_one_draft_twice_at_once_gives_one_publication_time():
    post = DraftFactory()

    results = run_together(4, lambda i: services.post_publish(post=post))

    assert all(isinstance(r, Post) for r in results), results
    post.refresh_from_db()
    assert {r.published_at for r in results} == {post.published_at}
