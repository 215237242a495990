"""The catalog's domain errors, each with a stable ``code``."""

from django.utils.translation import gettext_lazy as _
from rest_framework import status

from mithrapay.errors import ApplicationError, Conflict


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


class ImportBusy(Conflict):
    code = "import_busy"
    default_message = _(
        "Another import is writing the same codes. Try again in a moment."
    )


class VaultKeyMissing(ApplicationError):
    """A stored code cannot be decrypted with the configured keys."""

    status = status.HTTP_500_INTERNAL_SERVER_ERROR
    code = "code_undecryptable"
    default_message = _("A stored code cannot be decrypted with the configured keys.")
