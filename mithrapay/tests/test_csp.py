"""``SitePolicyMiddleware`` writes the headers django-csp's own middleware
writes, answer by answer."""

import re

import pytest
from csp.constants import NONE, SELF
from csp.decorators import csp_exempt, csp_replace, csp_update
from csp.middleware import CSPMiddleware
from django.http import HttpResponse
from django.test import RequestFactory

from mithrapay.csp import SitePolicyMiddleware, site_policies

HEADERS = ("Content-Security-Policy", "Content-Security-Policy-Report-Only")


def plain(request):
    return HttpResponse("ok")


def uses_nonce(request):
    return HttpResponse(f"<style nonce='{request.csp_nonce}'></style>")


def already_set(request):
    response = HttpResponse("ok")
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


VIEWS = [
    plain,
    uses_nonce,
    already_set,
    csp_exempt()(plain),
    csp_update({"style-src": ["https://cdn.example"]})(plain),
    csp_replace({"img-src": [SELF]})(plain),
]


def answer(middleware_class, view, path="/products/"):
    """The two headers, each request's own nonce written as ``N``."""
    request = RequestFactory().get(path)
    response = middleware_class(view)(request)
    nonce = getattr(request, "_csp_nonce", None)
    headers = {}
    for name in HEADERS:
        value = response.get(name)
        if value and nonce:
            assert re.findall(r"'nonce-([^']+)'", value) == [nonce]
            value = value.replace(nonce, "N")
        headers[name] = value
    return headers, request


@pytest.mark.parametrize("view", VIEWS, ids=lambda view: view.__name__)
def test_headers_match_django_csp(view):
    ours, _request = answer(SitePolicyMiddleware, view)
    theirs, _request = answer(CSPMiddleware, view)

    assert ours == theirs
    assert ours["Content-Security-Policy"] or view is not plain


def test_report_only_and_excluded_prefixes_follow_the_settings(settings):
    settings.CONTENT_SECURITY_POLICY = {
        **settings.CONTENT_SECURITY_POLICY,
        "EXCLUDE_URL_PREFIXES": ["/health/"],
    }
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {
        "DIRECTIVES": {"default-src": [NONE], "report-uri": "/csp-report"}
    }

    for path in ("/products/", "/health/live"):
        ours, _request = answer(SitePolicyMiddleware, plain, path)
        theirs, _request = answer(CSPMiddleware, plain, path)
        assert ours == theirs, path
    excluded, _request = answer(SitePolicyMiddleware, plain, "/health/live")
    assert excluded["Content-Security-Policy"] is None
    assert "report-uri /csp-report" in excluded["Content-Security-Policy-Report-Only"]


def test_a_changed_setting_rebuilds_the_site_policy(settings):
    before = site_policies()[0]

    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": [NONE]}}

    assert site_policies()[0] == "default-src 'none'" != before


def test_a_nonce_asked_for_after_the_header_is_written_is_refused():
    _headers, request = answer(SitePolicyMiddleware, plain)

    with pytest.raises(Exception, match="csp_nonce"):
        str(request.csp_nonce)
