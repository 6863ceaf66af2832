"""DRF serializer bases shared by several services' request contracts."""

from typing import Any

from rest_framework import serializers


class ClosedSerializer(serializers.Serializer):
    """Refuses fields it does not know: a misspelt `postcode` must not vanish silently.

    (The pipeline refuses unknown top-level fields; nested objects need this.)
    """

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)
