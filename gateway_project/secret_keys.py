"""What makes a SECRET_KEY unfit for production (read by settings, before Django is set up).

The same bar as Django's own deploy check (security.W009), but enforced: with DEBUG off the
process refuses to start instead of printing a warning nobody reads.
"""

MIN_LENGTH = 50
MIN_UNIQUE_CHARACTERS = 5
# Keys that are public: this project's embedded default and earlier test key, and the prefix
# of the keys `django-admin startproject` writes into settings files.
KNOWN_KEYS = frozenset(
    {
        "insecure-embedded-default-secret-key-change-me",
        "test-only-secret-key-not-for-production",
    }
)
KNOWN_PREFIXES = ("django-insecure-",)
HOW_TO_MAKE_ONE = "python -c 'import secrets; print(secrets.token_urlsafe(50))'"


def secret_key_problem(name: str, key: str) -> str | None:
    """Why `key` (the setting `name`) is unfit for production, or None when it is fit."""
    if key in KNOWN_KEYS or key.startswith(KNOWN_PREFIXES):
        reason = "is a publicly known key"
    elif len(key) < MIN_LENGTH:
        reason = f"is {len(key)} characters long; at least {MIN_LENGTH} are needed"
    elif len(set(key)) < MIN_UNIQUE_CHARACTERS:
        reason = f"has fewer than {MIN_UNIQUE_CHARACTERS} different characters"
    else:
        return None
    return (
        f"{name} {reason}. With DEBUG off it must be long and random; make one with "
        f"{HOW_TO_MAKE_ONE}."
    )
