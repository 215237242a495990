"""Messages built only when a view uses them: the same answers and cookies
as Django's own middleware, and no storage for a request that never asks."""

import pytest
from django.contrib import messages
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.functional import empty

from mithrapay.middleware import LazyMessageMiddleware


def _adds(request):
    messages.success(request, "Order MP-1 refunded.")
    return HttpResponse("added")


def _reads(request):
    return HttpResponse(" | ".join(str(m) for m in messages.get_messages(request)))


def _ignores(request):
    return HttpResponse("ignored")


def _serve(middleware_class, view, cookies=None):
    request = RequestFactory().get("/admin/")
    request.COOKIES.update(cookies or {})
    handler = SessionMiddleware(middleware_class(view))
    response = handler(request)
    return request, response


def _cookies(response) -> dict:
    return {name: morsel.value for name, morsel in response.cookies.items()}


@pytest.mark.parametrize("middleware_class", [MessageMiddleware, LazyMessageMiddleware])
def test_a_message_added_is_shown_on_the_next_page_and_then_gone(middleware_class):
    _request, added = _serve(middleware_class, _adds)
    _request, shown = _serve(middleware_class, _reads, _cookies(added))
    _request, after = _serve(
        middleware_class, _reads, {**_cookies(added), **_cookies(shown)}
    )

    assert "messages" in _cookies(added)
    assert shown.content == b"Order MP-1 refunded."
    assert shown.cookies["messages"].value == ""  # cleared once read
    assert after.content == b""


def test_each_page_answers_as_with_djangos_middleware():
    _request, added = _serve(MessageMiddleware, _adds)
    pending = _cookies(added)
    for view in (_adds, _reads, _ignores):
        for cookies in ({}, pending):
            _lazy_request, lazy = _serve(LazyMessageMiddleware, view, cookies)
            _request, django = _serve(MessageMiddleware, view, cookies)

            assert lazy.content == django.content, view.__name__
            assert _cookies(lazy) == _cookies(django), view.__name__


def test_a_page_that_never_asks_builds_no_storage_and_keeps_pending_messages():
    _request, added = _serve(LazyMessageMiddleware, _adds)

    request, response = _serve(LazyMessageMiddleware, _ignores, _cookies(added))

    assert request._messages._wrapped is empty
    assert "messages" not in response.cookies
