"""Serializer building blocks shared by the apps."""

import copy
from datetime import date, datetime, tzinfo
from decimal import Decimal
from functools import cached_property

from django.utils import timezone
from rest_framework import serializers


# The value formats of DRF's fields, for answers built as plain dicts where
# running serializers would cost more than the rest of the request. Tests of
# each such answer compare it with the serializer that documents it.
def money_text(value: Decimal) -> str:
    """``DecimalField(decimal_places=2)``'s string. The columns hold two
    places, so the values need no rounding."""
    return f"{value:.2f}"


def time_text(value: datetime | None, zone: tzinfo | None = None) -> str | None:
    """``DateTimeField``'s ISO 8601 string: the aware time in ``zone``, the
    active time zone by default (a caller writing many times looks it up
    once), UTC written as "Z"."""
    if value is None:
        return None
    text = value.astimezone(zone or timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def date_text(value: date | None) -> str | None:
    """``DateField``'s ISO 8601 string."""
    return None if value is None else value.isoformat()


# A ``ModelSerializer`` for answers only, whose fields are worked out from the
# model once per class and copied for each instance. DRF builds a model
# serializer's fields from the model's metadata on every instance
# (validators, choices, lengths…), which costs more than rendering a small
# object. The built fields depend only on ``Meta`` and the declared fields,
# so each instance gets a deep copy of the first build, as DRF already does
# for declared fields. A subclass must not build fields from the request, the
# context or the instance in ``get_fields``. (A comment, not a docstring: the
# schema would print a docstring as the description of every subclass.)
class ReadModelSerializer(serializers.ModelSerializer):
    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_built_fields")
        if built is None:
            built = super().get_fields()
            # Two threads may both build on a cold start; either result is
            # the same, and the later assignment wins.
            cls._built_fields = built
        return copy.deepcopy(built)


# A ``Serializer`` for request bodies whose fields are built and bound once
# per class and then shared by every instance. DRF deep-copies the declared
# fields for each instance (for a list of nested lines, every field of the
# line again), which on a busy endpoint costs more than validating the body.
# Validating keeps no state on a field, so one set serves every request; the
# shared fields stay bound to the first instance, so a subclass must not
# read the context, ``partial`` or the instance from a field, and its
# ``validate_<field>`` methods still run on the instance being validated.
class SharedFieldsSerializer(serializers.Serializer):
    @cached_property
    def fields(self):
        cls = type(self)
        shared = cls.__dict__.get("_shared_fields")
        if shared is None:
            shared = serializers.Serializer.fields.func(self)
            cls._shared_fields = shared
        return shared
