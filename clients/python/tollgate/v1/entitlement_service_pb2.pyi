from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tollgate.v1 import resource_pb2 as _resource_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

AGGREGATION_COUNT: Aggregation
AGGREGATION_LATEST: Aggregation
AGGREGATION_MAX: Aggregation
AGGREGATION_SUM: Aggregation
AGGREGATION_UNIQUE_COUNT: Aggregation
AGGREGATION_UNSPECIFIED: Aggregation
DENIAL_REASON_LIMIT_EXCEEDED: DenialReason
DENIAL_REASON_OVERAGE_CAP_REACHED: DenialReason
DENIAL_REASON_RESOURCE_NOT_IN_PLAN: DenialReason
DENIAL_REASON_SUBSCRIPTION_INACTIVE: DenialReason
DENIAL_REASON_UNSPECIFIED: DenialReason
DESCRIPTOR: _descriptor.FileDescriptor
FEATURE_SOURCE_DEFAULT: FeatureSource
FEATURE_SOURCE_OVERRIDE: FeatureSource
FEATURE_SOURCE_PLAN: FeatureSource
FEATURE_SOURCE_UNSPECIFIED: FeatureSource
FEATURE_TYPE_BOOLEAN: FeatureType
FEATURE_TYPE_NUMBER: FeatureType
FEATURE_TYPE_STRING: FeatureType
FEATURE_TYPE_UNSPECIFIED: FeatureType
GRANT_STATE_ACTIVE: GrantState
GRANT_STATE_EXPIRED: GrantState
GRANT_STATE_UNSPECIFIED: GrantState
GRANT_STATE_USED_UP: GrantState
GRANT_STATE_VOIDED: GrantState
LIMIT_SOURCE_OVERRIDE: LimitSource
LIMIT_SOURCE_PLAN: LimitSource
LIMIT_SOURCE_UNSPECIFIED: LimitSource
RESERVATION_STATE_COMMITTED: ReservationState
RESERVATION_STATE_EXPIRED: ReservationState
RESERVATION_STATE_HELD: ReservationState
RESERVATION_STATE_RELEASED: ReservationState
RESERVATION_STATE_UNSPECIFIED: ReservationState

class CheckAndRecordRequest(_message.Message):
    __slots__ = ["dimensions", "idempotency_key", "quantity", "resource_type", "tenant_id"]
    class DimensionsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    dimensions: _containers.ScalarMap[str, str]
    idempotency_key: str
    quantity: str
    resource_type: str
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., resource_type: _Optional[str] = ..., quantity: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., dimensions: _Optional[_Mapping[str, str]] = ...) -> None: ...

class CheckAndRecordResponse(_message.Message):
    __slots__ = ["allowed", "decision_time", "denial_reason", "entitlement", "reason", "reset_time", "retry_after"]
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    DECISION_TIME_FIELD_NUMBER: _ClassVar[int]
    DENIAL_REASON_FIELD_NUMBER: _ClassVar[int]
    ENTITLEMENT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RESET_TIME_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    decision_time: _timestamp_pb2.Timestamp
    denial_reason: DenialReason
    entitlement: Entitlement
    reason: str
    reset_time: _timestamp_pb2.Timestamp
    retry_after: _duration_pb2.Duration
    def __init__(self, allowed: bool = ..., reason: _Optional[str] = ..., denial_reason: _Optional[_Union[DenialReason, str]] = ..., entitlement: _Optional[_Union[Entitlement, _Mapping]] = ..., decision_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., reset_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., retry_after: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class CheckFeatureRequest(_message.Message):
    __slots__ = ["feature", "tenant_id"]
    FEATURE_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    feature: str
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., feature: _Optional[str] = ...) -> None: ...

class CheckFeatureResponse(_message.Message):
    __slots__ = ["enabled", "feature"]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    FEATURE_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    feature: Feature
    def __init__(self, enabled: bool = ..., feature: _Optional[_Union[Feature, _Mapping]] = ...) -> None: ...

class CheckRequest(_message.Message):
    __slots__ = ["dimensions", "quantity", "resource_type", "tenant_id"]
    class DimensionsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    dimensions: _containers.ScalarMap[str, str]
    quantity: str
    resource_type: str
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., resource_type: _Optional[str] = ..., quantity: _Optional[str] = ..., dimensions: _Optional[_Mapping[str, str]] = ...) -> None: ...

class CheckResponse(_message.Message):
    __slots__ = ["allowed", "denial_reason", "entitlement", "reason"]
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    DENIAL_REASON_FIELD_NUMBER: _ClassVar[int]
    ENTITLEMENT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    denial_reason: DenialReason
    entitlement: Entitlement
    reason: str
    def __init__(self, allowed: bool = ..., reason: _Optional[str] = ..., denial_reason: _Optional[_Union[DenialReason, str]] = ..., entitlement: _Optional[_Union[Entitlement, _Mapping]] = ...) -> None: ...

class CommitReservationRequest(_message.Message):
    __slots__ = ["actual_quantity", "reservation_id", "tenant_id"]
    ACTUAL_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    actual_quantity: str
    reservation_id: str
    tenant_id: str
    def __init__(self, reservation_id: _Optional[str] = ..., actual_quantity: _Optional[str] = ..., tenant_id: _Optional[str] = ...) -> None: ...

class CommitReservationResponse(_message.Message):
    __slots__ = ["entitlement", "reservation"]
    ENTITLEMENT_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    entitlement: Entitlement
    reservation: Reservation
    def __init__(self, reservation: _Optional[_Union[Reservation, _Mapping]] = ..., entitlement: _Optional[_Union[Entitlement, _Mapping]] = ...) -> None: ...

class DeleteEntitlementOverrideRequest(_message.Message):
    __slots__ = ["dimensions", "request_id", "resource_type", "tenant_id"]
    class DimensionsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    dimensions: _containers.ScalarMap[str, str]
    request_id: str
    resource_type: str
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., resource_type: _Optional[str] = ..., request_id: _Optional[str] = ..., dimensions: _Optional[_Mapping[str, str]] = ...) -> None: ...

class DeleteEntitlementOverrideResponse(_message.Message):
    __slots__ = ["override"]
    OVERRIDE_FIELD_NUMBER: _ClassVar[int]
    override: Override
    def __init__(self, override: _Optional[_Union[Override, _Mapping]] = ...) -> None: ...

class DeleteFeatureOverrideRequest(_message.Message):
    __slots__ = ["feature", "request_id", "tenant_id"]
    FEATURE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    feature: str
    request_id: str
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., feature: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class DeleteFeatureOverrideResponse(_message.Message):
    __slots__ = ["override"]
    OVERRIDE_FIELD_NUMBER: _ClassVar[int]
    override: FeatureOverride
    def __init__(self, override: _Optional[_Union[FeatureOverride, _Mapping]] = ...) -> None: ...

class Entitlement(_message.Message):
    __slots__ = ["aggregation", "currency", "dimensions", "grant_remaining", "granted", "hard", "included", "kind", "limit", "limit_source", "overage", "overage_amount", "overage_unit_amount", "period_end_time", "period_start_time", "plan_id", "price_override_id", "pricing", "remaining", "reserved", "resource_type", "unlimited", "used", "window"]
    class DimensionsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    AGGREGATION_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    GRANTED_FIELD_NUMBER: _ClassVar[int]
    GRANT_REMAINING_FIELD_NUMBER: _ClassVar[int]
    HARD_FIELD_NUMBER: _ClassVar[int]
    INCLUDED_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_SOURCE_FIELD_NUMBER: _ClassVar[int]
    OVERAGE_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    OVERAGE_FIELD_NUMBER: _ClassVar[int]
    OVERAGE_UNIT_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_TIME_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_TIME_FIELD_NUMBER: _ClassVar[int]
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    PRICE_OVERRIDE_ID_FIELD_NUMBER: _ClassVar[int]
    PRICING_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    RESERVED_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    UNLIMITED_FIELD_NUMBER: _ClassVar[int]
    USED_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    aggregation: Aggregation
    currency: str
    dimensions: _containers.ScalarMap[str, str]
    grant_remaining: str
    granted: str
    hard: bool
    included: str
    kind: _resource_pb2.ResourceKind
    limit: str
    limit_source: LimitSource
    overage: str
    overage_amount: str
    overage_unit_amount: str
    period_end_time: _timestamp_pb2.Timestamp
    period_start_time: _timestamp_pb2.Timestamp
    plan_id: str
    price_override_id: str
    pricing: _resource_pb2.Pricing
    remaining: str
    reserved: str
    resource_type: str
    unlimited: bool
    used: str
    window: str
    def __init__(self, resource_type: _Optional[str] = ..., kind: _Optional[_Union[_resource_pb2.ResourceKind, str]] = ..., limit: _Optional[str] = ..., unlimited: bool = ..., used: _Optional[str] = ..., remaining: _Optional[str] = ..., period_start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., period_end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., plan_id: _Optional[str] = ..., reserved: _Optional[str] = ..., included: _Optional[str] = ..., overage: _Optional[str] = ..., overage_amount: _Optional[str] = ..., hard: bool = ..., overage_unit_amount: _Optional[str] = ..., currency: _Optional[str] = ..., granted: _Optional[str] = ..., grant_remaining: _Optional[str] = ..., limit_source: _Optional[_Union[LimitSource, str]] = ..., dimensions: _Optional[_Mapping[str, str]] = ..., aggregation: _Optional[_Union[Aggregation, str]] = ..., pricing: _Optional[_Union[_resource_pb2.Pricing, _Mapping]] = ..., price_override_id: _Optional[str] = ..., window: _Optional[str] = ...) -> None: ...

class Feature(_message.Message):
    __slots__ = ["bool_value", "enabled", "name", "number_value", "override_expire_time", "source", "string_value", "type"]
    BOOL_VALUE_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NUMBER_VALUE_FIELD_NUMBER: _ClassVar[int]
    OVERRIDE_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    STRING_VALUE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    bool_value: bool
    enabled: bool
    name: str
    number_value: str
    override_expire_time: _timestamp_pb2.Timestamp
    source: FeatureSource
    string_value: str
    type: FeatureType
    def __init__(self, name: _Optional[str] = ..., type: _Optional[_Union[FeatureType, str]] = ..., source: _Optional[_Union[FeatureSource, str]] = ..., bool_value: bool = ..., number_value: _Optional[str] = ..., string_value: _Optional[str] = ..., override_expire_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., enabled: bool = ...) -> None: ...

class FeatureOverride(_message.Message):
    __slots__ = ["create_time", "expire_time", "feature", "tenant_id", "update_time", "value"]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    FEATURE_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    feature: str
    tenant_id: str
    update_time: _timestamp_pb2.Timestamp
    value: str
    def __init__(self, tenant_id: _Optional[str] = ..., feature: _Optional[str] = ..., value: _Optional[str] = ..., expire_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetEntitlementsRequest(_message.Message):
    __slots__ = ["tenant_id"]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class GetEntitlementsResponse(_message.Message):
    __slots__ = ["entitlements", "plan_id"]
    ENTITLEMENTS_FIELD_NUMBER: _ClassVar[int]
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    entitlements: _containers.RepeatedCompositeFieldContainer[Entitlement]
    plan_id: str
    def __init__(self, plan_id: _Optional[str] = ..., entitlements: _Optional[_Iterable[_Union[Entitlement, _Mapping]]] = ...) -> None: ...

class GetFeaturesRequest(_message.Message):
    __slots__ = ["tenant_id"]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class GetFeaturesResponse(_message.Message):
    __slots__ = ["features", "plan_id"]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    features: _containers.RepeatedCompositeFieldContainer[Feature]
    plan_id: str
    def __init__(self, plan_id: _Optional[str] = ..., features: _Optional[_Iterable[_Union[Feature, _Mapping]]] = ...) -> None: ...

class Grant(_message.Message):
    __slots__ = ["create_time", "dimensions", "expire_time", "id", "quantity", "reason", "remaining", "resource_type", "state", "tenant_id", "void_time"]
    class DimensionsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    VOID_TIME_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    dimensions: _containers.ScalarMap[str, str]
    expire_time: _timestamp_pb2.Timestamp
    id: str
    quantity: str
    reason: str
    remaining: str
    resource_type: str
    state: GrantState
    tenant_id: str
    void_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., resource_type: _Optional[str] = ..., quantity: _Optional[str] = ..., remaining: _Optional[str] = ..., expire_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., void_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[_Union[GrantState, str]] = ..., dimensions: _Optional[_Mapping[str, str]] = ...) -> None: ...

class GrantCreditsRequest(_message.Message):
    __slots__ = ["dimensions", "expire_time", "quantity", "reason", "request_id", "resource_type", "tenant_id"]
    class DimensionsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    dimensions: _containers.ScalarMap[str, str]
    expire_time: _timestamp_pb2.Timestamp
    quantity: str
    reason: str
    request_id: str
    resource_type: str
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., resource_type: _Optional[str] = ..., quantity: _Optional[str] = ..., expire_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ..., dimensions: _Optional[_Mapping[str, str]] = ...) -> None: ...

class GrantCreditsResponse(_message.Message):
    __slots__ = ["grant"]
    GRANT_FIELD_NUMBER: _ClassVar[int]
    grant: Grant
    def __init__(self, grant: _Optional[_Union[Grant, _Mapping]] = ...) -> None: ...

class ListEntitlementOverridesRequest(_message.Message):
    __slots__ = ["include_expired", "tenant_id"]
    INCLUDE_EXPIRED_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    include_expired: bool
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., include_expired: bool = ...) -> None: ...

class ListEntitlementOverridesResponse(_message.Message):
    __slots__ = ["overrides"]
    OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    overrides: _containers.RepeatedCompositeFieldContainer[Override]
    def __init__(self, overrides: _Optional[_Iterable[_Union[Override, _Mapping]]] = ...) -> None: ...

class ListFeatureOverridesRequest(_message.Message):
    __slots__ = ["include_expired", "tenant_id"]
    INCLUDE_EXPIRED_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    include_expired: bool
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., include_expired: bool = ...) -> None: ...

class ListFeatureOverridesResponse(_message.Message):
    __slots__ = ["overrides"]
    OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    overrides: _containers.RepeatedCompositeFieldContainer[FeatureOverride]
    def __init__(self, overrides: _Optional[_Iterable[_Union[FeatureOverride, _Mapping]]] = ...) -> None: ...

class ListGrantsRequest(_message.Message):
    __slots__ = ["include_expired", "tenant_id"]
    INCLUDE_EXPIRED_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    include_expired: bool
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., include_expired: bool = ...) -> None: ...

class ListGrantsResponse(_message.Message):
    __slots__ = ["grants"]
    GRANTS_FIELD_NUMBER: _ClassVar[int]
    grants: _containers.RepeatedCompositeFieldContainer[Grant]
    def __init__(self, grants: _Optional[_Iterable[_Union[Grant, _Mapping]]] = ...) -> None: ...

class Override(_message.Message):
    __slots__ = ["create_time", "dimensions", "expire_time", "limit", "resource_type", "tenant_id", "unlimited", "update_time"]
    class DimensionsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    UNLIMITED_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    dimensions: _containers.ScalarMap[str, str]
    expire_time: _timestamp_pb2.Timestamp
    limit: str
    resource_type: str
    tenant_id: str
    unlimited: bool
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, tenant_id: _Optional[str] = ..., resource_type: _Optional[str] = ..., limit: _Optional[str] = ..., unlimited: bool = ..., expire_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., dimensions: _Optional[_Mapping[str, str]] = ...) -> None: ...

class RecordUsageRequest(_message.Message):
    __slots__ = ["dimensions", "idempotency_key", "quantity", "resource_type", "tenant_id"]
    class DimensionsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    dimensions: _containers.ScalarMap[str, str]
    idempotency_key: str
    quantity: str
    resource_type: str
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., resource_type: _Optional[str] = ..., quantity: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., dimensions: _Optional[_Mapping[str, str]] = ...) -> None: ...

class RecordUsageResponse(_message.Message):
    __slots__ = ["entitlement"]
    ENTITLEMENT_FIELD_NUMBER: _ClassVar[int]
    entitlement: Entitlement
    def __init__(self, entitlement: _Optional[_Union[Entitlement, _Mapping]] = ...) -> None: ...

class ReleaseReservationRequest(_message.Message):
    __slots__ = ["reservation_id", "tenant_id"]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    tenant_id: str
    def __init__(self, reservation_id: _Optional[str] = ..., tenant_id: _Optional[str] = ...) -> None: ...

class ReleaseReservationResponse(_message.Message):
    __slots__ = ["entitlement", "reservation"]
    ENTITLEMENT_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    entitlement: Entitlement
    reservation: Reservation
    def __init__(self, reservation: _Optional[_Union[Reservation, _Mapping]] = ..., entitlement: _Optional[_Union[Entitlement, _Mapping]] = ...) -> None: ...

class Reservation(_message.Message):
    __slots__ = ["committed_quantity", "create_time", "expire_time", "id", "quantity", "resource_type", "state", "tenant_id"]
    COMMITTED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    committed_quantity: str
    create_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    id: str
    quantity: str
    resource_type: str
    state: ReservationState
    tenant_id: str
    def __init__(self, id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., resource_type: _Optional[str] = ..., quantity: _Optional[str] = ..., state: _Optional[_Union[ReservationState, str]] = ..., expire_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., committed_quantity: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReserveRequest(_message.Message):
    __slots__ = ["dimensions", "idempotency_key", "quantity", "resource_type", "tenant_id", "ttl_seconds"]
    class DimensionsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    dimensions: _containers.ScalarMap[str, str]
    idempotency_key: str
    quantity: str
    resource_type: str
    tenant_id: str
    ttl_seconds: int
    def __init__(self, tenant_id: _Optional[str] = ..., resource_type: _Optional[str] = ..., quantity: _Optional[str] = ..., ttl_seconds: _Optional[int] = ..., idempotency_key: _Optional[str] = ..., dimensions: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ReserveResponse(_message.Message):
    __slots__ = ["allowed", "denial_reason", "entitlement", "expire_time", "reason", "reservation_id"]
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    DENIAL_REASON_FIELD_NUMBER: _ClassVar[int]
    ENTITLEMENT_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    denial_reason: DenialReason
    entitlement: Entitlement
    expire_time: _timestamp_pb2.Timestamp
    reason: str
    reservation_id: str
    def __init__(self, allowed: bool = ..., reason: _Optional[str] = ..., denial_reason: _Optional[_Union[DenialReason, str]] = ..., entitlement: _Optional[_Union[Entitlement, _Mapping]] = ..., reservation_id: _Optional[str] = ..., expire_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SetEntitlementOverrideRequest(_message.Message):
    __slots__ = ["dimensions", "expire_time", "limit", "request_id", "resource_type", "tenant_id", "unlimited"]
    class DimensionsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    UNLIMITED_FIELD_NUMBER: _ClassVar[int]
    dimensions: _containers.ScalarMap[str, str]
    expire_time: _timestamp_pb2.Timestamp
    limit: str
    request_id: str
    resource_type: str
    tenant_id: str
    unlimited: bool
    def __init__(self, tenant_id: _Optional[str] = ..., resource_type: _Optional[str] = ..., limit: _Optional[str] = ..., unlimited: bool = ..., expire_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., request_id: _Optional[str] = ..., dimensions: _Optional[_Mapping[str, str]] = ...) -> None: ...

class SetEntitlementOverrideResponse(_message.Message):
    __slots__ = ["override"]
    OVERRIDE_FIELD_NUMBER: _ClassVar[int]
    override: Override
    def __init__(self, override: _Optional[_Union[Override, _Mapping]] = ...) -> None: ...

class SetFeatureOverrideRequest(_message.Message):
    __slots__ = ["expire_time", "feature", "request_id", "tenant_id", "value"]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    FEATURE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    expire_time: _timestamp_pb2.Timestamp
    feature: str
    request_id: str
    tenant_id: str
    value: str
    def __init__(self, tenant_id: _Optional[str] = ..., feature: _Optional[str] = ..., value: _Optional[str] = ..., expire_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class SetFeatureOverrideResponse(_message.Message):
    __slots__ = ["override"]
    OVERRIDE_FIELD_NUMBER: _ClassVar[int]
    override: FeatureOverride
    def __init__(self, override: _Optional[_Union[FeatureOverride, _Mapping]] = ...) -> None: ...

class VoidGrantRequest(_message.Message):
    __slots__ = ["grant_id", "request_id"]
    GRANT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    grant_id: str
    request_id: str
    def __init__(self, grant_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class VoidGrantResponse(_message.Message):
    __slots__ = ["grant"]
    GRANT_FIELD_NUMBER: _ClassVar[int]
    grant: Grant
    def __init__(self, grant: _Optional[_Union[Grant, _Mapping]] = ...) -> None: ...

class FeatureType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class FeatureSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class LimitSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class GrantState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class DenialReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class ReservationState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class Aggregation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
