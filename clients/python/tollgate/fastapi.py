"""FastAPI integration: the enforcer as a dependency, and denials answered with 402.

Import it only in FastAPI applications (`from tollgate.fastapi import …`); the rest of the
client does not need FastAPI.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tollgate.enforcer import EntitlementEnforcer, default_enforcer
from tollgate.errors import EntitlementEnforcementError


async def get_entitlement_enforcer() -> EntitlementEnforcer:
    """The dependency of the quick reference: `Depends(get_entitlement_enforcer)`.

    One enforcer (and one gRPC channel) per process, configured by `TOLLGATE_URL` and
    `TOLLGATE_API_KEY`. Override it in tests with `app.dependency_overrides`.
    """
    return default_enforcer()


async def _denied(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, EntitlementEnforcementError)
    return JSONResponse(
        status_code=error.status_code,
        content={
            "detail": error.reason,
            "resource_type": error.resource_type,
            "denial_reason": error.denial_reason,
            "limit": None if error.limit is None else str(error.limit),
            "used": str(error.used),
        },
    )


def add_entitlement_error_handler(app: FastAPI) -> None:
    """Answers `EntitlementEnforcementError` with 402 and the denial as JSON, not a 500."""
    app.add_exception_handler(EntitlementEnforcementError, _denied)
