"""DRF serializer bases shared by several services' request contracts."""

from typing import Any

from rest_framework import serializers


# Refuses fields it does not know: a misspelt `postcode` must not vanish silently. (The
# pipeline refuses unknown top-level fields; nested objects need this.) A comment, not a
# docstring: drf-spectacular describes a serializer without a docstring of its own by its
# base's, and this note is not for the API's readers.
class ClosedSerializer(serializers.Serializer):
    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class _OnlyStrings:
    """DRF's string fields take a JSON number and turn it into text (`"body": 0` became an
    SMS saying "0"). A method's documented schema says `type: string`: anything else is a
    400, as the contract says of a payload that fails the schema."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid")  # type: ignore[attr-defined]
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictCharField(_OnlyStrings, serializers.CharField):
    """A CharField that takes only a JSON string."""

    default_error_messages = {"invalid": "Not a valid string."}


class StrictRegexField(_OnlyStrings, serializers.RegexField):
    """A RegexField that takes only a JSON string."""
