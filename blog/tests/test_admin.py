from http import HTTPStatus

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from accounts.roles import CONTENT_EDITOR
from blog.models import Post, Tag
from blog.tests.factories import DraftFactory, PostFactory, StaffFactory, TagFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(db):
    call_command("setup_roles", verbosity=0)
    user = StaffFactory(email="editor@example.com")
    user.groups.add(Group.objects.get(name=CONTENT_EDITOR))
    return user


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


def _post_form(**overrides):
    data = {
        "title": "Redeem a Steam card",
        "slug": "redeem-a-steam-card",
        "excerpt": "",
        "body": "Open **Steam**.",
        "status": Post.Status.DRAFT,
        "published_at_0": "",
        "published_at_1": "",
        "seo_title": "",
        "seo_description": "",
    }
    data.update(overrides)
    return data


def _form_error_codes(response, field):
    form = response.context["adminform"].form
    return [error.code for error in form.errors.as_data().get(field, [])]


def test_content_editor_role_holds_exactly_the_blog_permissions(editor):
    group = Group.objects.get(name=CONTENT_EDITOR)

    names = sorted(
        f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()
    )

    assert names == sorted(
        f"blog.{action}_{model}"
        for model in ("post", "tag")
        for action in ("add", "change", "delete", "view")
    )


def test_editor_writes_a_post_and_is_its_author(editor_client, editor):
    response = editor_client.post("/admin/blog/post/add/", _post_form(author=""))

    assert response.status_code == HTTPStatus.FOUND, response.content
    post = Post.objects.get(slug="redeem-a-steam-card")
    assert post.author == editor
    assert "<strong>Steam</strong>" in post.rendered_html


def test_add_form_offers_the_editor_as_author_and_prepopulates_the_slug(
    editor_client, editor
):
    response = editor_client.get("/admin/blog/post/add/")

    assert response.status_code == HTTPStatus.OK
    form = response.context["adminform"].form
    assert form.initial["author"] == editor.pk
    assert "prepopulated" in response.content.decode()


def test_editor_edits_and_deletes_tags(editor_client):
    tag = TagFactory(name="Old", slug="old")

    changed = editor_client.post(
        f"/admin/blog/tag/{tag.pk}/change/", {"name": "Apple", "slug": "apple"}
    )
    deleted = editor_client.post(f"/admin/blog/tag/{tag.pk}/delete/", {"post": "yes"})

    assert changed.status_code == HTTPStatus.FOUND
    assert deleted.status_code == HTTPStatus.FOUND
    assert not Tag.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        "/admin/accounts/user/",
        "/admin/accounts/user/add/",
        "/admin/auth/group/",
        "/admin/constance/config/",
    ],
)
def test_editor_is_refused_everything_outside_the_blog(editor_client, path):
    response = editor_client.get(path)

    assert response.status_code == HTTPStatus.FORBIDDEN


def test_editor_cannot_change_site_settings(editor_client):
    response = editor_client.post(
        "/admin/constance/config/", {"MAINTENANCE_MODE": "on"}
    )

    assert response.status_code == HTTPStatus.FORBIDDEN


def test_admin_index_shows_the_editor_only_the_blog(editor_client):
    response = editor_client.get("/admin/")

    apps = {app["app_label"] for app in response.context["app_list"]}
    assert apps == {"blog"}


def test_duplicate_slug_in_the_admin_is_refused_with_its_code(admin_client):
    PostFactory(slug="redeem-a-steam-card")

    response = admin_client.post("/admin/blog/post/add/", _post_form())

    assert response.status_code == HTTPStatus.OK
    assert "slug_taken" in _form_error_codes(response, "slug")
    assert Post.objects.count() == 1


def test_reserved_slug_in_the_admin_is_refused(admin_client):
    response = admin_client.post("/admin/blog/post/add/", _post_form(slug="feed"))

    assert "slug_reserved" in _form_error_codes(response, "slug")
    assert not Post.objects.exists()


def test_script_in_the_body_is_refused_in_the_admin(admin_client):
    response = admin_client.post(
        "/admin/blog/post/add/", _post_form(body="Hi <script>alert(1)</script>")
    )

    assert _form_error_codes(response, "body") == ["unsafe_markup"]
    assert not Post.objects.exists()


@pytest.mark.parametrize(
    ("date", "time"), [("31/02/2025", "10:00"), ("2025-02-30", "25:61"), ("x", "y")]
)
def test_broken_published_at_is_refused_in_the_admin(admin_client, date, time):
    response = admin_client.post(
        "/admin/blog/post/add/",
        _post_form(published_at_0=date, published_at_1=time),
    )

    assert response.status_code == HTTPStatus.OK
    assert "invalid" in _form_error_codes(response, "published_at")
    assert not Post.objects.exists()


def test_live_post_slug_change_is_refused_in_the_admin(admin_client, admin_user):
    post = PostFactory(slug="stable", author=admin_user)
    data = _post_form(
        title=post.title,
        slug="renamed",
        status=Post.Status.PUBLISHED,
        published_at_0=post.published_at.strftime("%Y-%m-%d"),
        published_at_1=post.published_at.strftime("%H:%M:%S"),
        author=admin_user.pk,
    )

    response = admin_client.post(f"/admin/blog/post/{post.pk}/change/", data)

    assert _form_error_codes(response, "slug") == ["slug_locked"]
    post.refresh_from_db()
    assert post.slug == "stable"


def test_publish_now_and_unpublish_actions(admin_client):
    draft = DraftFactory()
    live = PostFactory()

    admin_client.post(
        "/admin/blog/post/",
        {"action": "publish_now", "_selected_action": [draft.pk]},
    )
    admin_client.post(
        "/admin/blog/post/",
        {"action": "unpublish", "_selected_action": [live.pk]},
    )

    draft.refresh_from_db()
    live.refresh_from_db()
    assert draft.is_live
    assert live.status == Post.Status.DRAFT


def test_editor_may_run_the_publishing_actions(editor_client):
    draft = DraftFactory()

    editor_client.post(
        "/admin/blog/post/",
        {"action": "publish_now", "_selected_action": [draft.pk]},
    )

    draft.refresh_from_db()
    assert draft.is_live


def test_post_list_filters_by_status_and_tag_and_searches(admin_client):
    tag = TagFactory()
    DraftFactory(title="Draft about Steam")
    PostFactory(title="Live about Apple", tags=[tag])

    drafts = admin_client.get("/admin/blog/post/", {"status__exact": "draft"})
    tagged = admin_client.get("/admin/blog/post/", {"tags__id__exact": tag.pk})
    found = admin_client.get("/admin/blog/post/", {"q": "steam"})

    assert [p.title for p in drafts.context["cl"].result_list] == ["Draft about Steam"]
    assert [p.title for p in tagged.context["cl"].result_list] == ["Live about Apple"]
    assert [p.title for p in found.context["cl"].result_list] == ["Draft about Steam"]


def test_staff_preview_renders_a_draft(editor_client):
    draft = DraftFactory(body="**Coming soon** <img src=x onerror=alert(1)>")

    response = editor_client.get(f"/admin/blog/post/{draft.pk}/preview/")

    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "<strong>Coming soon</strong>" in page
    assert "onerror" not in page


def test_change_page_links_to_the_preview(admin_client):
    draft = DraftFactory()

    response = admin_client.get(f"/admin/blog/post/{draft.pk}/change/")

    assert f"/admin/blog/post/{draft.pk}/preview/" in response.content.decode()


def test_preview_is_closed_to_customers_and_strangers(client):
    draft = DraftFactory(body="secret plans")
    customer = StaffFactory(is_staff=False)

    anonymous = client.get(f"/admin/blog/post/{draft.pk}/preview/")
    client.force_login(customer)
    logged_in = client.get(f"/admin/blog/post/{draft.pk}/preview/")

    for response in (anonymous, logged_in):
        assert response.status_code == HTTPStatus.FOUND
        assert "/admin/login/" in response["Location"]
        assert b"secret plans" not in response.content


def test_preview_is_refused_to_staff_without_blog_permissions(client):
    draft = DraftFactory(body="secret plans")
    client.force_login(StaffFactory())

    response = client.get(f"/admin/blog/post/{draft.pk}/preview/")

    assert response.status_code == HTTPStatus.FORBIDDEN
