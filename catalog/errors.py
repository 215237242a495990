"""The catalog's domain errors, each with a stable ``code``."""

from django.utils.translation import gettext_lazy as _
from rest_framework import status

from mithrapay.errors import ApplicationError


class CodeFileError(ApplicationError):
    """A code file (or pasted list) cannot be imported; nothing was written.

    ``fields["rows"]`` maps each bad row number (as text) to its messages.
    """

    code = "code_file_invalid"
    default_message = _("The code file has rows that cannot be imported.")


class CodeFileEmpty(CodeFileError):
    code = "code_file_empty"
    default_message = _("The code file holds no codes.")


class CodeFileEncoding(CodeFileError):
    code = "code_file_encoding"
    default_message = _("The code file is not UTF-8 text.")


class VariantNotFound(ApplicationError):
    status = status.HTTP_404_NOT_FOUND
    code = "variant_not_found"
    default_message = _("No variant has this SKU.")


class VariantNotCoded(ApplicationError):
    code = "variant_not_coded"
    default_message = _("This variant is not delivered as a code from the pool.")


class RevealNotAllowed(ApplicationError):
    status = status.HTTP_403_FORBIDDEN
    code = "permission_denied"
    default_message = _("You do not have permission to reveal codes.")
