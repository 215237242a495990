"""The Content-Security-Policy header of every answer (django-csp), with the
site's own policy built once per process."""

from functools import lru_cache

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

# What a view leaves on its answer to change the policy (django-csp's
# decorators); an answer with any of them gets the policy built for it.
PER_VIEW_ATTRIBUTES = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)


@lru_cache(maxsize=1)
def site_policies() -> tuple[str, str]:
    """The enforced and report-only header texts the settings give, with no
    nonce and no per-view change."""
    return build_policy(), build_policy(report_only=True)


@receiver(setting_changed)
def _forget_policies(*, setting, **kwargs):
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        site_policies.cache_clear()


# Per header, in site_policies()'s order: its name, the answer attribute
# that exempts an answer from it, and the setting that lists paths without it.
_HEADERS = (
    (HEADER, "_csp_exempt", "CONTENT_SECURITY_POLICY"),
    (HEADER_REPORT_ONLY, "_csp_exempt_ro", "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
)


def _excluded(path: str, setting: str) -> bool:
    prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES")
    return bool(prefixes) and path.startswith(tuple(prefixes))


class SitePolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, giving the prebuilt site policy to an answer
    that changes nothing about it.

    django-csp builds both header texts from the settings for every answer
    (about a thirtieth of a placed order's Python time). The text differs
    only when the request drew a nonce (the admin's and the payment pages'
    templates do) or the view changed the policy; those answers, and every
    answer in DEBUG, go through django-csp's own ``process_response``.
    """

    def process_response(self, request, response):
        if (
            settings.DEBUG
            or getattr(request, "_csp_nonce", None) is not None
            or any(
                getattr(response, name, None) is not None
                for name in PER_VIEW_ATTRIBUTES
            )
        ):
            return super().process_response(request, response)

        path = request.path_info
        for policy, (header, exempt, setting) in zip(
            site_policies(), _HEADERS, strict=True
        ):
            if (
                policy
                and header not in response
                and not getattr(response, exempt, False)
                and not _excluded(path, setting)
            ):
                response[header] = policy
        # As django-csp does: a nonce asked for after the header is written
        # could not be in it, so asking is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
