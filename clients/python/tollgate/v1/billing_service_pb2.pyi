from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tollgate.v1 import resource_pb2 as _resource_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

BILLING_INTERVAL_MONTH: BillingInterval
BILLING_INTERVAL_UNSPECIFIED: BillingInterval
BILLING_INTERVAL_YEAR: BillingInterval
DESCRIPTOR: _descriptor.FileDescriptor
INVOICE_LINE_KIND_MINIMUM_TRUE_UP: InvoiceLineKind
INVOICE_LINE_KIND_PLAN_FEE: InvoiceLineKind
INVOICE_LINE_KIND_UNSPECIFIED: InvoiceLineKind
INVOICE_LINE_KIND_USAGE: InvoiceLineKind
MIGRATION_EFFECTIVE_IMMEDIATELY: MigrationEffective
MIGRATION_EFFECTIVE_PERIOD_END: MigrationEffective
MIGRATION_EFFECTIVE_UNSPECIFIED: MigrationEffective
MIGRATION_OUTCOME_APPLIED: MigrationOutcome
MIGRATION_OUTCOME_PREVIEWED: MigrationOutcome
MIGRATION_OUTCOME_SCHEDULED: MigrationOutcome
MIGRATION_OUTCOME_UNSPECIFIED: MigrationOutcome
PRORATION_BEHAVIOR_ALWAYS_INVOICE: ProrationBehavior
PRORATION_BEHAVIOR_CREATE_PRORATIONS: ProrationBehavior
PRORATION_BEHAVIOR_NONE: ProrationBehavior
PRORATION_BEHAVIOR_UNSPECIFIED: ProrationBehavior
SUBSCRIPTION_STATE_ACTIVE: SubscriptionState
SUBSCRIPTION_STATE_CANCELED: SubscriptionState
SUBSCRIPTION_STATE_INCOMPLETE: SubscriptionState
SUBSCRIPTION_STATE_PAST_DUE: SubscriptionState
SUBSCRIPTION_STATE_TRIALING: SubscriptionState
SUBSCRIPTION_STATE_UNSPECIFIED: SubscriptionState

class AdvanceTestClockRequest(_message.Message):
    __slots__ = ["to_time"]
    TO_TIME_FIELD_NUMBER: _ClassVar[int]
    to_time: _timestamp_pb2.Timestamp
    def __init__(self, to_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AdvanceTestClockResponse(_message.Message):
    __slots__ = ["time"]
    TIME_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    def __init__(self, time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AuditEvent(_message.Message):
    __slots__ = ["action", "actor", "after", "before", "create_time", "id", "request_id", "target", "tenant_id"]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    action: str
    actor: str
    after: _struct_pb2.Struct
    before: _struct_pb2.Struct
    create_time: _timestamp_pb2.Timestamp
    id: str
    request_id: str
    target: str
    tenant_id: str
    def __init__(self, id: _Optional[str] = ..., actor: _Optional[str] = ..., action: _Optional[str] = ..., tenant_id: _Optional[str] = ..., target: _Optional[str] = ..., request_id: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., before: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., after: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class CancelSubscriptionRequest(_message.Message):
    __slots__ = ["immediate", "request_id", "subscription_id"]
    IMMEDIATE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    immediate: bool
    request_id: str
    subscription_id: str
    def __init__(self, subscription_id: _Optional[str] = ..., immediate: bool = ..., request_id: _Optional[str] = ...) -> None: ...

class CancelSubscriptionResponse(_message.Message):
    __slots__ = ["subscription"]
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ...) -> None: ...

class CountCustomersRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class CountCustomersResponse(_message.Message):
    __slots__ = ["counts", "customer_count"]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_COUNT_FIELD_NUMBER: _ClassVar[int]
    counts: _containers.RepeatedCompositeFieldContainer[CustomerCount]
    customer_count: int
    def __init__(self, counts: _Optional[_Iterable[_Union[CustomerCount, _Mapping]]] = ..., customer_count: _Optional[int] = ...) -> None: ...

class CreateCustomerRequest(_message.Message):
    __slots__ = ["email", "metadata", "name", "request_id", "tenant_id"]
    class MetadataEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    email: str
    metadata: _containers.ScalarMap[str, str]
    name: str
    request_id: str
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., email: _Optional[str] = ..., name: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateCustomerResponse(_message.Message):
    __slots__ = ["customer"]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    customer: Customer
    def __init__(self, customer: _Optional[_Union[Customer, _Mapping]] = ...) -> None: ...

class CreateSubscriptionRequest(_message.Message):
    __slots__ = ["customer_id", "price_id", "request_id", "trial_days"]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    PRICE_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TRIAL_DAYS_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    price_id: str
    request_id: str
    trial_days: int
    def __init__(self, customer_id: _Optional[str] = ..., price_id: _Optional[str] = ..., trial_days: _Optional[int] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateSubscriptionResponse(_message.Message):
    __slots__ = ["subscription"]
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ...) -> None: ...

class Customer(_message.Message):
    __slots__ = ["create_time", "email", "id", "metadata", "name", "tenant_id"]
    class MetadataEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    email: str
    id: str
    metadata: _containers.ScalarMap[str, str]
    name: str
    tenant_id: str
    def __init__(self, id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., email: _Optional[str] = ..., name: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CustomerCount(_message.Message):
    __slots__ = ["customer_count", "plan_id", "state"]
    CUSTOMER_COUNT_FIELD_NUMBER: _ClassVar[int]
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    customer_count: int
    plan_id: str
    state: SubscriptionState
    def __init__(self, plan_id: _Optional[str] = ..., state: _Optional[_Union[SubscriptionState, str]] = ..., customer_count: _Optional[int] = ...) -> None: ...

class DeletePriceOverrideRequest(_message.Message):
    __slots__ = ["id", "request_id", "tenant_id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    request_id: str
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class DeletePriceOverrideResponse(_message.Message):
    __slots__ = ["price_override"]
    PRICE_OVERRIDE_FIELD_NUMBER: _ClassVar[int]
    price_override: PriceOverride
    def __init__(self, price_override: _Optional[_Union[PriceOverride, _Mapping]] = ...) -> None: ...

class GetCustomerRequest(_message.Message):
    __slots__ = ["tenant_id"]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class GetCustomerResponse(_message.Message):
    __slots__ = ["customer"]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    customer: Customer
    def __init__(self, customer: _Optional[_Union[Customer, _Mapping]] = ...) -> None: ...

class GetPlanRequest(_message.Message):
    __slots__ = ["plan_id", "version"]
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    plan_id: str
    version: int
    def __init__(self, plan_id: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class GetPlanResponse(_message.Message):
    __slots__ = ["plan"]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    plan: Plan
    def __init__(self, plan: _Optional[_Union[Plan, _Mapping]] = ...) -> None: ...

class GetSubscriptionRequest(_message.Message):
    __slots__ = ["subscription_id"]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    def __init__(self, subscription_id: _Optional[str] = ...) -> None: ...

class GetSubscriptionResponse(_message.Message):
    __slots__ = ["subscription"]
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ...) -> None: ...

class GetTestClockRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class GetTestClockResponse(_message.Message):
    __slots__ = ["time"]
    TIME_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    def __init__(self, time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetUpcomingInvoiceRequest(_message.Message):
    __slots__ = ["tenant_id"]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class GetUpcomingInvoiceResponse(_message.Message):
    __slots__ = ["invoice"]
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    invoice: Invoice
    def __init__(self, invoice: _Optional[_Union[Invoice, _Mapping]] = ...) -> None: ...

class Invoice(_message.Message):
    __slots__ = ["currency", "lines", "period_end_time", "period_start_time", "plan_id", "subscription_id", "subtotal", "tenant_id", "total"]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_TIME_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_TIME_FIELD_NUMBER: _ClassVar[int]
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    SUBTOTAL_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    currency: str
    lines: _containers.RepeatedCompositeFieldContainer[InvoiceLine]
    period_end_time: _timestamp_pb2.Timestamp
    period_start_time: _timestamp_pb2.Timestamp
    plan_id: str
    subscription_id: str
    subtotal: str
    tenant_id: str
    total: str
    def __init__(self, tenant_id: _Optional[str] = ..., subscription_id: _Optional[str] = ..., plan_id: _Optional[str] = ..., period_start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., period_end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., currency: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[InvoiceLine, _Mapping]]] = ..., subtotal: _Optional[str] = ..., total: _Optional[str] = ...) -> None: ...

class InvoiceLine(_message.Message):
    __slots__ = ["amount", "description", "dimensions", "kind", "price_override_id", "pricing_model", "quantity", "resource_type", "tiers", "unit_amount"]
    class DimensionsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PRICE_OVERRIDE_ID_FIELD_NUMBER: _ClassVar[int]
    PRICING_MODEL_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    TIERS_FIELD_NUMBER: _ClassVar[int]
    UNIT_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    amount: str
    description: str
    dimensions: _containers.ScalarMap[str, str]
    kind: InvoiceLineKind
    price_override_id: str
    pricing_model: _resource_pb2.PricingModel
    quantity: str
    resource_type: str
    tiers: _containers.RepeatedCompositeFieldContainer[InvoiceTier]
    unit_amount: str
    def __init__(self, description: _Optional[str] = ..., resource_type: _Optional[str] = ..., quantity: _Optional[str] = ..., unit_amount: _Optional[str] = ..., amount: _Optional[str] = ..., dimensions: _Optional[_Mapping[str, str]] = ..., kind: _Optional[_Union[InvoiceLineKind, str]] = ..., pricing_model: _Optional[_Union[_resource_pb2.PricingModel, str]] = ..., tiers: _Optional[_Iterable[_Union[InvoiceTier, _Mapping]]] = ..., price_override_id: _Optional[str] = ...) -> None: ...

class InvoiceTier(_message.Message):
    __slots__ = ["amount", "flat_amount", "quantity", "unit_amount", "up_to"]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    FLAT_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    UP_TO_FIELD_NUMBER: _ClassVar[int]
    amount: str
    flat_amount: str
    quantity: str
    unit_amount: str
    up_to: str
    def __init__(self, up_to: _Optional[str] = ..., quantity: _Optional[str] = ..., unit_amount: _Optional[str] = ..., flat_amount: _Optional[str] = ..., amount: _Optional[str] = ...) -> None: ...

class LimitChange(_message.Message):
    __slots__ = ["after", "before", "counter"]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    COUNTER_FIELD_NUMBER: _ClassVar[int]
    after: PlanLimit
    before: PlanLimit
    counter: str
    def __init__(self, counter: _Optional[str] = ..., before: _Optional[_Union[PlanLimit, _Mapping]] = ..., after: _Optional[_Union[PlanLimit, _Mapping]] = ...) -> None: ...

class ListAuditEventsRequest(_message.Message):
    __slots__ = ["page_size", "page_token", "tenant_id"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAuditEventsResponse(_message.Message):
    __slots__ = ["audit_events", "next_page_token"]
    AUDIT_EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    audit_events: _containers.RepeatedCompositeFieldContainer[AuditEvent]
    next_page_token: str
    def __init__(self, audit_events: _Optional[_Iterable[_Union[AuditEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListCustomersRequest(_message.Message):
    __slots__ = ["page_size", "page_token", "query"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    query: str
    def __init__(self, query: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListCustomersResponse(_message.Message):
    __slots__ = ["customers", "next_page_token", "subscriptions"]
    CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    customers: _containers.RepeatedCompositeFieldContainer[Customer]
    next_page_token: str
    subscriptions: _containers.RepeatedCompositeFieldContainer[Subscription]
    def __init__(self, customers: _Optional[_Iterable[_Union[Customer, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., subscriptions: _Optional[_Iterable[_Union[Subscription, _Mapping]]] = ...) -> None: ...

class ListPlansRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ListPlansResponse(_message.Message):
    __slots__ = ["plans"]
    PLANS_FIELD_NUMBER: _ClassVar[int]
    plans: _containers.RepeatedCompositeFieldContainer[Plan]
    def __init__(self, plans: _Optional[_Iterable[_Union[Plan, _Mapping]]] = ...) -> None: ...

class ListPriceOverridesRequest(_message.Message):
    __slots__ = ["include_ended", "tenant_id"]
    INCLUDE_ENDED_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    include_ended: bool
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., include_ended: bool = ...) -> None: ...

class ListPriceOverridesResponse(_message.Message):
    __slots__ = ["price_overrides"]
    PRICE_OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    price_overrides: _containers.RepeatedCompositeFieldContainer[PriceOverride]
    def __init__(self, price_overrides: _Optional[_Iterable[_Union[PriceOverride, _Mapping]]] = ...) -> None: ...

class ListSubscriptionsRequest(_message.Message):
    __slots__ = ["page_size", "page_token", "tenant_id"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSubscriptionsResponse(_message.Message):
    __slots__ = ["next_page_token", "subscriptions"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    subscriptions: _containers.RepeatedCompositeFieldContainer[Subscription]
    def __init__(self, subscriptions: _Optional[_Iterable[_Union[Subscription, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class MigrateSubscriptionsRequest(_message.Message):
    __slots__ = ["dry_run", "effective", "from_version", "page_size", "page_token", "plan_id", "proration_behavior", "request_id", "to_version"]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FIELD_NUMBER: _ClassVar[int]
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    PRORATION_BEHAVIOR_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    dry_run: bool
    effective: MigrationEffective
    from_version: int
    page_size: int
    page_token: str
    plan_id: str
    proration_behavior: ProrationBehavior
    request_id: str
    to_version: int
    def __init__(self, plan_id: _Optional[str] = ..., from_version: _Optional[int] = ..., to_version: _Optional[int] = ..., effective: _Optional[_Union[MigrationEffective, str]] = ..., proration_behavior: _Optional[_Union[ProrationBehavior, str]] = ..., dry_run: bool = ..., request_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class MigrateSubscriptionsResponse(_message.Message):
    __slots__ = ["migrations", "next_page_token"]
    MIGRATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    migrations: _containers.RepeatedCompositeFieldContainer[TenantMigration]
    next_page_token: str
    def __init__(self, migrations: _Optional[_Iterable[_Union[TenantMigration, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Plan(_message.Message):
    __slots__ = ["currency", "display_name", "id", "interval", "limits", "minimum_amount", "price_id", "unit_amount", "version"]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PRICE_ID_FIELD_NUMBER: _ClassVar[int]
    UNIT_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    currency: str
    display_name: str
    id: str
    interval: BillingInterval
    limits: _containers.RepeatedCompositeFieldContainer[PlanLimit]
    minimum_amount: str
    price_id: str
    unit_amount: str
    version: int
    def __init__(self, id: _Optional[str] = ..., display_name: _Optional[str] = ..., price_id: _Optional[str] = ..., unit_amount: _Optional[str] = ..., currency: _Optional[str] = ..., interval: _Optional[_Union[BillingInterval, str]] = ..., limits: _Optional[_Iterable[_Union[PlanLimit, _Mapping]]] = ..., minimum_amount: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class PlanLimit(_message.Message):
    __slots__ = ["kind", "limit", "meter_event_name", "metered_price_id", "overage_cap", "overage_unit_amount", "pricing", "resource_type", "unlimited"]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    METERED_PRICE_ID_FIELD_NUMBER: _ClassVar[int]
    METER_EVENT_NAME_FIELD_NUMBER: _ClassVar[int]
    OVERAGE_CAP_FIELD_NUMBER: _ClassVar[int]
    OVERAGE_UNIT_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PRICING_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    UNLIMITED_FIELD_NUMBER: _ClassVar[int]
    kind: _resource_pb2.ResourceKind
    limit: str
    meter_event_name: str
    metered_price_id: str
    overage_cap: str
    overage_unit_amount: str
    pricing: _resource_pb2.Pricing
    resource_type: str
    unlimited: bool
    def __init__(self, resource_type: _Optional[str] = ..., kind: _Optional[_Union[_resource_pb2.ResourceKind, str]] = ..., limit: _Optional[str] = ..., unlimited: bool = ..., overage_unit_amount: _Optional[str] = ..., overage_cap: _Optional[str] = ..., meter_event_name: _Optional[str] = ..., metered_price_id: _Optional[str] = ..., pricing: _Optional[_Union[_resource_pb2.Pricing, _Mapping]] = ...) -> None: ...

class PriceOverride(_message.Message):
    __slots__ = ["create_time", "delete_time", "dimensions", "end_time", "id", "pricing", "provider_price_id", "resource_type", "start_time", "tenant_id"]
    class DimensionsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DELETE_TIME_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    PRICING_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_PRICE_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    delete_time: _timestamp_pb2.Timestamp
    dimensions: _containers.ScalarMap[str, str]
    end_time: _timestamp_pb2.Timestamp
    id: str
    pricing: _resource_pb2.Pricing
    provider_price_id: str
    resource_type: str
    start_time: _timestamp_pb2.Timestamp
    tenant_id: str
    def __init__(self, id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., resource_type: _Optional[str] = ..., dimensions: _Optional[_Mapping[str, str]] = ..., pricing: _Optional[_Union[_resource_pb2.Pricing, _Mapping]] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., delete_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., provider_price_id: _Optional[str] = ...) -> None: ...

class SetPriceOverrideRequest(_message.Message):
    __slots__ = ["dimensions", "end_time", "pricing", "request_id", "resource_type", "start_time", "tenant_id"]
    class DimensionsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PRICING_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    dimensions: _containers.ScalarMap[str, str]
    end_time: _timestamp_pb2.Timestamp
    pricing: _resource_pb2.Pricing
    request_id: str
    resource_type: str
    start_time: _timestamp_pb2.Timestamp
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., resource_type: _Optional[str] = ..., pricing: _Optional[_Union[_resource_pb2.Pricing, _Mapping]] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., request_id: _Optional[str] = ..., dimensions: _Optional[_Mapping[str, str]] = ...) -> None: ...

class SetPriceOverrideResponse(_message.Message):
    __slots__ = ["price_override"]
    PRICE_OVERRIDE_FIELD_NUMBER: _ClassVar[int]
    price_override: PriceOverride
    def __init__(self, price_override: _Optional[_Union[PriceOverride, _Mapping]] = ...) -> None: ...

class Subscription(_message.Message):
    __slots__ = ["cancel_at_period_end", "cancel_time", "create_time", "current_period_end_time", "current_period_start_time", "customer_id", "id", "plan_id", "plan_version", "price_id", "proration_behavior", "scheduled_migration_time", "scheduled_plan_version", "state", "tenant_id", "trial_end_time"]
    CANCEL_AT_PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    CANCEL_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PERIOD_END_TIME_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PERIOD_START_TIME_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_VERSION_FIELD_NUMBER: _ClassVar[int]
    PRICE_ID_FIELD_NUMBER: _ClassVar[int]
    PRORATION_BEHAVIOR_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_MIGRATION_TIME_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_PLAN_VERSION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    TRIAL_END_TIME_FIELD_NUMBER: _ClassVar[int]
    cancel_at_period_end: bool
    cancel_time: _timestamp_pb2.Timestamp
    create_time: _timestamp_pb2.Timestamp
    current_period_end_time: _timestamp_pb2.Timestamp
    current_period_start_time: _timestamp_pb2.Timestamp
    customer_id: str
    id: str
    plan_id: str
    plan_version: int
    price_id: str
    proration_behavior: ProrationBehavior
    scheduled_migration_time: _timestamp_pb2.Timestamp
    scheduled_plan_version: int
    state: SubscriptionState
    tenant_id: str
    trial_end_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., customer_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., plan_id: _Optional[str] = ..., price_id: _Optional[str] = ..., state: _Optional[_Union[SubscriptionState, str]] = ..., trial_end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., current_period_start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., current_period_end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., cancel_at_period_end: bool = ..., cancel_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., proration_behavior: _Optional[_Union[ProrationBehavior, str]] = ..., plan_version: _Optional[int] = ..., scheduled_plan_version: _Optional[int] = ..., scheduled_migration_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TenantMigration(_message.Message):
    __slots__ = ["currency", "effective_time", "from_version", "invoice_difference", "invoice_total_after", "invoice_total_before", "limit_changes", "outcome", "subscription_id", "tenant_id", "to_version", "unit_amount_after", "unit_amount_before"]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    INVOICE_DIFFERENCE_FIELD_NUMBER: _ClassVar[int]
    INVOICE_TOTAL_AFTER_FIELD_NUMBER: _ClassVar[int]
    INVOICE_TOTAL_BEFORE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_CHANGES_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    UNIT_AMOUNT_AFTER_FIELD_NUMBER: _ClassVar[int]
    UNIT_AMOUNT_BEFORE_FIELD_NUMBER: _ClassVar[int]
    currency: str
    effective_time: _timestamp_pb2.Timestamp
    from_version: int
    invoice_difference: str
    invoice_total_after: str
    invoice_total_before: str
    limit_changes: _containers.RepeatedCompositeFieldContainer[LimitChange]
    outcome: MigrationOutcome
    subscription_id: str
    tenant_id: str
    to_version: int
    unit_amount_after: str
    unit_amount_before: str
    def __init__(self, tenant_id: _Optional[str] = ..., subscription_id: _Optional[str] = ..., from_version: _Optional[int] = ..., to_version: _Optional[int] = ..., limit_changes: _Optional[_Iterable[_Union[LimitChange, _Mapping]]] = ..., unit_amount_before: _Optional[str] = ..., unit_amount_after: _Optional[str] = ..., currency: _Optional[str] = ..., invoice_total_before: _Optional[str] = ..., invoice_total_after: _Optional[str] = ..., invoice_difference: _Optional[str] = ..., effective_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., outcome: _Optional[_Union[MigrationOutcome, str]] = ...) -> None: ...

class UpdateSubscriptionRequest(_message.Message):
    __slots__ = ["new_price_id", "proration_behavior", "request_id", "subscription_id"]
    NEW_PRICE_ID_FIELD_NUMBER: _ClassVar[int]
    PRORATION_BEHAVIOR_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    new_price_id: str
    proration_behavior: ProrationBehavior
    request_id: str
    subscription_id: str
    def __init__(self, subscription_id: _Optional[str] = ..., new_price_id: _Optional[str] = ..., proration_behavior: _Optional[_Union[ProrationBehavior, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class UpdateSubscriptionResponse(_message.Message):
    __slots__ = ["subscription"]
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ...) -> None: ...

class MigrationEffective(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class MigrationOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class SubscriptionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class BillingInterval(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class ProrationBehavior(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class InvoiceLineKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
