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


class RevealNotAllowed(ApplicationError):
    status = status.HTTP_403_FORBIDDEN
    code = "permission_denied"
    default_message = _("You do not have permission to reveal codes.")


class StockChanged(Conflict):
    """A staff edit of a variant's stock was based on a count that an order
    (or another edit) has changed since; nothing was written."""

    code = "stock_changed"
    default_message = _(
        "The stock changed while you were editing; reload the page and enter "
        "the count again."
    )

    def __init__(self, *, variant_id: int, sku: str):
        super().__init__(
            _(
                "The stock of %(sku)s changed while you were editing, so nothing "
                "was saved; reload the page and enter the count again."
            )
            % {"sku": sku},
            fields={"stock": [self.default_message]},
        )
        self.variant_id = variant_id


class CodeUnreadable(ApplicationError):
    """A code's stored token does not decrypt with the configured keys."""

    code = "code_unreadable"
    default_message = _(
        "This code cannot be decrypted with the configured keys, so it cannot "
        "be shown. Nothing was recorded."
    )
