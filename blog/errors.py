from django.utils.translation import gettext_lazy as _

from mithrapay.errors import ApplicationError


class SlugTaken(ApplicationError):
    code = "slug_taken"
    default_message = _("Another post already has this slug.")


class SlugLocked(ApplicationError):
    code = "slug_locked"
    default_message = _("A live post keeps its slug; links to it must not break.")


class SlugInvalid(ApplicationError):
    code = "slug_invalid"
    default_message = _("Use letters, numbers, hyphens or underscores in the slug.")


class SlugReserved(ApplicationError):
    code = "slug_reserved"
    default_message = _("This slug is reserved for the blog's own pages.")


class UnsafeMarkup(ApplicationError):
    code = "unsafe_markup"
    default_message = _(
        "The body holds markup that is never shown (scripts, frames, event "
        "handlers or javascript: links). Remove it."
    )


class AuthorNotStaff(ApplicationError):
    code = "author_not_staff"
    default_message = _("A post's author must be a member of staff.")


class UnknownTag(ApplicationError):
    code = "unknown_tag"
    default_message = _("There is no tag with this slug.")
