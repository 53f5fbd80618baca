"""Billing: customers and the subscription lifecycle, through Tollgate's `BillingService`.

Tollgate decides the provider (its built-in mock, or Stripe in production), so this one
client stands in for the quick reference's `MockBillingProvider` and its Stripe twin alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from uuid import UUID

from google.protobuf.timestamp_pb2 import Timestamp

from tollgate.connection import TollgateClient, default_client
from tollgate.v1 import billing_service_pb2 as pb


@dataclass(frozen=True)
class Customer:
    """The billing identity of one tenant."""

    id: str
    tenant_id: str
    email: str
    name: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Subscription:
    """A subscription as Tollgate keeps it; `state` is `trialing`, `active`, `past_due`, …"""

    id: str
    customer_id: str
    tenant_id: str
    plan_id: str
    price_id: str
    state: str
    trial_end: datetime | None
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    cancel_time: datetime | None
    #: The plan version it is on; it stays there when the catalog changes, until migrated.
    plan_version: int = 1


def _time(message: pb.Subscription, name: str) -> datetime | None:
    if not message.HasField(name):
        return None
    stamp: Timestamp = getattr(message, name)
    time: datetime = stamp.ToDatetime(tzinfo=timezone.utc)
    return time


def _subscription(message: pb.Subscription) -> Subscription:
    return Subscription(
        id=message.id,
        customer_id=message.customer_id,
        tenant_id=message.tenant_id,
        plan_id=message.plan_id,
        price_id=message.price_id,
        state=str(pb.SubscriptionState.Name(message.state))
        .removeprefix("SUBSCRIPTION_STATE_")
        .lower(),
        trial_end=_time(message, "trial_end_time"),
        current_period_start=_time(message, "current_period_start_time"),
        current_period_end=_time(message, "current_period_end_time"),
        cancel_at_period_end=message.cancel_at_period_end,
        cancel_time=_time(message, "cancel_time"),
        plan_version=message.plan_version,
    )


class BillingClient:
    """Customers and subscriptions. Mutations need an admin key.

    Give a `request_id` to make a retried mutation act once: Tollgate replays the first answer.
    """

    def __init__(self, client: TollgateClient | None = None) -> None:
        self.client = client or default_client()

    async def create_customer(
        self,
        tenant_id: UUID | str,
        email: str,
        name: str = "",
        metadata: dict[str, str] | None = None,
        *,
        request_id: str = "",
    ) -> str:
        """Registers the tenant's customer and returns its id (`cus_…`)."""
        request = pb.CreateCustomerRequest(
            tenant_id=str(tenant_id),
            email=email,
            name=name,
            metadata=metadata or {},
            request_id=request_id,
        )
        answer: pb.CreateCustomerResponse = await self.client.call(
            self.client.stubs().billing.CreateCustomer, request
        )
        return answer.customer.id

    async def get_customer(self, tenant_id: UUID | str) -> Customer:
        """The tenant's customer; `TollgateError` with `NOT_FOUND` when it has none."""
        request = pb.GetCustomerRequest(tenant_id=str(tenant_id))
        answer: pb.GetCustomerResponse = await self.client.call(
            self.client.stubs().billing.GetCustomer, request
        )
        c = answer.customer
        return Customer(c.id, c.tenant_id, c.email, c.name, dict(c.metadata))

    async def create_subscription(
        self, customer_id: str, price_id: str, trial_days: int = 0, *, request_id: str = ""
    ) -> Subscription:
        """Subscribes the customer to the plan of `price_id`, with an optional trial."""
        request = pb.CreateSubscriptionRequest(
            customer_id=customer_id, price_id=price_id, trial_days=trial_days, request_id=request_id
        )
        answer: pb.CreateSubscriptionResponse = await self.client.call(
            self.client.stubs().billing.CreateSubscription, request
        )
        return _subscription(answer.subscription)

    async def update_subscription(
        self, subscription_id: str, new_price_id: str, *, request_id: str = ""
    ) -> Subscription:
        """Moves the subscription to another price; limits change at once."""
        request = pb.UpdateSubscriptionRequest(
            subscription_id=subscription_id, new_price_id=new_price_id, request_id=request_id
        )
        answer: pb.UpdateSubscriptionResponse = await self.client.call(
            self.client.stubs().billing.UpdateSubscription, request
        )
        return _subscription(answer.subscription)

    async def cancel_subscription(
        self, subscription_id: str, immediate: bool = False, *, request_id: str = ""
    ) -> Subscription:
        """Cancels now (the tenant drops to FREE at once) or at the end of the period."""
        request = pb.CancelSubscriptionRequest(
            subscription_id=subscription_id, immediate=immediate, request_id=request_id
        )
        answer: pb.CancelSubscriptionResponse = await self.client.call(
            self.client.stubs().billing.CancelSubscription, request
        )
        return _subscription(answer.subscription)

    async def get_subscription(self, subscription_id: str) -> Subscription:
        """One subscription, brought up to date by the server."""
        request = pb.GetSubscriptionRequest(subscription_id=subscription_id)
        answer: pb.GetSubscriptionResponse = await self.client.call(
            self.client.stubs().billing.GetSubscription, request
        )
        return _subscription(answer.subscription)
