"""Model fields shared by several apps."""

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.functional import cached_property
from encrypted_fields.fields import EncryptedTextField

from apps.core.countries import COMMON_MISTAKES, ISO_3166_ALPHA_2
from apps.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS


def country_code_validator(value: str) -> None:
    if value not in ISO_3166_ALPHA_2:
        hint = COMMON_MISTAKES.get(value.upper()) or (
            value.upper() if value.upper() in ISO_3166_ALPHA_2 else None
        )
        raise ValidationError(
            f"{value!r} is not an ISO 3166-1 alpha-2 country code"
            + (f"; did you mean {hint}?" if hint else " (e.g. DE).")
        )


slug_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9_\-]*$", "Lower-case letters, digits, '-' and '_' only."
)


class MoneyField(models.DecimalField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", MONEY_MAX_DIGITS)
        kwargs.setdefault("decimal_places", MONEY_DECIMAL_PLACES)
        super().__init__(*args, **kwargs)


class CountryField(models.CharField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 2)
        kwargs.setdefault("validators", [country_code_validator])
        super().__init__(*args, **kwargs)


def field_fernet() -> MultiFernet:
    """Every configured key, newest first: encrypt with the first, decrypt with any."""
    return MultiFernet([Fernet(key.encode()) for key in settings.FIELD_ENCRYPTION_KEYS])


class UnreadableSecrets(dict[str, str]):
    """Stands in for secrets that no configured key can decrypt (a key was dropped too soon).

    It is empty, so no adapter ever sees ciphertext as a credential; code checks
    `isinstance(value, UnreadableSecrets)` to tell the operator what happened. It keeps the
    stored token, and saving the row writes that token back unchanged: restoring the old key
    recovers the secrets, whatever was saved in between.
    """

    def __init__(self, token: str = "") -> None:
        super().__init__()
        self.token = token


class EncryptedSecretsField(EncryptedTextField):
    """A dict of secrets, stored as one Fernet token of its JSON.

    django-fernet-encrypted-fields derives its keys from SECRET_KEY and, on a key it cannot
    use, silently returns the ciphertext. Here the keys are FIELD_ENCRYPTION_KEY (rotated
    through its older entries) and an undecryptable value becomes UnreadableSecrets.
    """

    # What django-stubs should take the attribute's type to be.
    _pyi_private_set_type: dict[str, str]
    _pyi_private_get_type: dict[str, str]

    @cached_property
    def f(self) -> MultiFernet:  # type: ignore[override]
        return field_fernet()

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, UnreadableSecrets):
            return value.token or None
        if value in (None, {}):
            value = {}
        if isinstance(value, str):
            value = json.loads(value)
        plain = json.dumps(value, sort_keys=True)
        return self.f.encrypt(plain.encode()).decode()

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return self.to_python(value)

    def to_python(self, value: Any) -> Any:
        if value is None or value == "":
            return {}
        if isinstance(value, dict):
            return value
        try:
            plain = self.f.decrypt(value.encode()).decode()
        except InvalidToken:
            return UnreadableSecrets(value)
        decoded = json.loads(plain)
        return decoded if isinstance(decoded, dict) else {}

    def value_to_string(self, obj: models.Model) -> str:
        # Serialisation (dumpdata) never writes secrets in clear.
        return "<encrypted>"

    def formfield(self, **kwargs: Any) -> Any:  # the admin uses its own write-only form field
        return None


class UnreadableSecret(str):
    """An encrypted string no configured key can decrypt: empty, keeps the stored token."""

    token: str = ""


class EncryptedStringField(EncryptedTextField):
    """One secret string, stored as a Fernet token under FIELD_ENCRYPTION_KEY (see above)."""

    _pyi_private_set_type: str
    _pyi_private_get_type: str

    @cached_property
    def f(self) -> MultiFernet:  # type: ignore[override]
        return field_fernet()

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, UnreadableSecret):
            return value.token or None
        if not value:
            return None
        return self.f.encrypt(str(value).encode()).decode()

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return self.to_python(value)

    def to_python(self, value: Any) -> Any:
        if value is None or value == "" or isinstance(value, UnreadableSecret):
            return value or ""
        try:
            return self.f.decrypt(value.encode()).decode()
        except InvalidToken:
            unreadable = UnreadableSecret("")
            unreadable.token = value
            return unreadable

    def value_to_string(self, obj: models.Model) -> str:
        return "<encrypted>"
