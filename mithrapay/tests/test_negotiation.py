"""The content negotiation's shortcut gives DRF's own answer, request by
request, and is the project's negotiation."""

import pytest
from django.http import Http404
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.test import APIRequestFactory

from mithrapay.negotiation import ContentNegotiation

ACCEPTS = [
    None,
    "*/*",
    "application/json",
    "application/json; indent=4",
    "text/html",
    "text/html, */*;q=0.1",
    "application/*",
    "",
    "application/xml",
    "APPLICATION/JSON",
    "*/*; charset=utf-8",
]
QUERIES = ["", "page=2", "format=json", "format=api", "%66ormat=api", "q=formatting"]
SUFFIXES = [None, "json", "api", "xml"]
RENDERER_LISTS = [
    [JSONRenderer()],
    [JSONRenderer(), BrowsableAPIRenderer()],
    [BrowsableAPIRenderer(), JSONRenderer()],
]


def _request(accept, query):
    extra = {} if accept is None else {"HTTP_ACCEPT": accept}
    path = "/products/" + ("?" + query if query else "")
    return Request(APIRequestFactory().get(path, **extra))


def _outcome(negotiation, accept, query, renderers, suffix):
    try:
        renderer, media_type = negotiation.select_renderer(
            _request(accept, query), renderers, suffix
        )
    except (exceptions.NotAcceptable, Http404) as exc:
        return type(exc)
    return type(renderer), media_type


@pytest.mark.parametrize(
    "renderers", RENDERER_LISTS, ids=["json", "json+api", "api+json"]
)
def test_every_request_gets_drfs_own_answer(renderers):
    ours, drfs = ContentNegotiation(), DefaultContentNegotiation()
    compared = 0
    for accept in ACCEPTS:
        for query in QUERIES:
            for suffix in SUFFIXES:
                assert _outcome(ours, accept, query, renderers, suffix) == _outcome(
                    drfs, accept, query, renderers, suffix
                ), (accept, query, suffix)
                compared += 1
    assert compared == len(ACCEPTS) * len(QUERIES) * len(SUFFIXES)


def test_a_request_accepting_anything_takes_the_first_renderer_unparsed():
    request = _request(None, "")

    renderer, media_type = ContentNegotiation().select_renderer(
        request, [JSONRenderer(), BrowsableAPIRenderer()]
    )

    assert isinstance(renderer, JSONRenderer)
    assert media_type == "application/json"
    # DRF's negotiation keeps the Accept header it parsed on the request.
    assert not hasattr(request, "_parsed_accept_list")


def test_the_api_negotiates_with_it():
    assert api_settings.DEFAULT_CONTENT_NEGOTIATION_CLASS is ContentNegotiation


def test_a_format_the_api_cannot_render_is_still_refused(client):
    not_acceptable = client.get("/products/", HTTP_ACCEPT="text/html")
    unknown_format = client.get("/products/?format=api")

    assert not_acceptable.status_code == 406
    assert not_acceptable.json()["code"] == "not_acceptable"
    assert unknown_format.status_code == 404
