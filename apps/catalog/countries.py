"""Which countries a provider serves: its adapter's list, optionally narrowed by ops.

The adapter declares what the vendor covers (code, from the vendor's documentation). Ops may
narrow that per provider, e.g. TaxJar to US while the account's Canadian registration is not
done, but never widen it: a country the vendor does not serve would only fail at call time.
The admin, `gateway_apply` and the snapshot all go through these functions, so they agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from apps.core.countries import COMMON_MISTAKES, ISO_3166_ALPHA_2

if TYPE_CHECKING:
    from apps.catalog.providers import ProviderAdapter


def country_code_problem(code: object) -> str | None:
    """Why `code` is not an ISO 3166-1 alpha-2 code (with a hint where one helps), or None."""
    if isinstance(code, str) and code in ISO_3166_ALPHA_2:
        return None
    if not isinstance(code, str):
        return f"expected a country code, got {code!r}"
    hint = ""
    if code.upper() in ISO_3166_ALPHA_2:
        hint = f"; write it in capitals: {code.upper()}"
    elif code.upper() in COMMON_MISTAKES:
        hint = f"; did you mean {COMMON_MISTAKES[code.upper()]}?"
    return f"{code!r} is not an ISO 3166-1 alpha-2 country code{hint}"


def declared_countries(adapter: type[ProviderAdapter] | None) -> str:
    """What the adapter serves, as shown to ops in help texts and errors."""
    if adapter is None or adapter.countries is None:
        return "every country"
    return ", ".join(sorted(adapter.countries))


def not_served_problem(codes: Iterable[str], adapter: type[ProviderAdapter]) -> str | None:
    """The error naming the codes the adapter does not declare, or None when it serves all."""
    if adapter.countries is None:
        return None
    extra = sorted(set(codes) - adapter.countries)
    if not extra:
        return None
    return (
        f"{adapter.key} does not serve {', '.join(extra)}: a provider's countries can only "
        f"narrow what its adapter serves ({declared_countries(adapter)})"
    )


def country_list_problems(value: object, adapter: type[ProviderAdapter] | None) -> list[str]:
    """Every problem with a stored override: its shape, unknown codes, codes not served."""
    if not isinstance(value, list):
        return [f"expected a list of country codes, got {value!r}"]
    problems = [p for code in value if (p := country_code_problem(code)) is not None]
    if not problems and adapter is not None:
        problem = not_served_problem(value, adapter)
        if problem:
            problems.append(problem)
    return problems


def served_countries(
    override: Iterable[str], declared: frozenset[str] | None
) -> frozenset[str] | None:
    """What routing uses: the override within what the adapter declares, else the adapter's.

    Intersected rather than trusted: if a later release drops a country from the adapter, a
    stored override still cannot route there.
    """
    chosen = frozenset(override)
    if not chosen:
        return declared
    return chosen if declared is None else chosen & declared
