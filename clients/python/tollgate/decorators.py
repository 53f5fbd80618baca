"""`@require_entitlement`: an async function that runs only when the tenant may use the resource."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import ParamSpec, TypeVar

from tollgate.enforcer import EntitlementEnforcer, check_entitlement_or_raise, default_enforcer
from tollgate.quantity import Quantity

P = ParamSpec("P")
R = TypeVar("R")


def require_entitlement(
    resource_type: str, quantity: Quantity = Decimal("1")
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Checks and records `quantity` of `resource_type` before each call of the function.

    The function must take a `tenant_id` argument (by position or by name). When it also takes
    an `enforcer` argument, the call's enforcer is used and passed on (the default one, from
    `TOLLGATE_URL` and `TOLLGATE_API_KEY`, when the caller gives none). A denied call raises
    `EntitlementEnforcementError` and the function does not run.
    """

    def decorate(func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        signature = inspect.signature(func)
        if "tenant_id" not in signature.parameters:
            raise TypeError(f"@require_entitlement: {func.__qualname__} takes no tenant_id")
        takes_enforcer = "enforcer" in signature.parameters

        @functools.wraps(func)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            bound = signature.bind(*args, **kwargs)
            given = bound.arguments.get("enforcer")
            enforcer = given if isinstance(given, EntitlementEnforcer) else default_enforcer()
            check = await enforcer.check_and_record(
                bound.arguments["tenant_id"], resource_type, quantity
            )
            check_entitlement_or_raise(check)
            if takes_enforcer and given is None:
                bound.arguments["enforcer"] = enforcer
            return await func(*bound.args, **bound.kwargs)

        return wrapper

    return decorate
