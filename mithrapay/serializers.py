"""Serializer building blocks shared by the apps."""

import copy

from rest_framework import serializers


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
