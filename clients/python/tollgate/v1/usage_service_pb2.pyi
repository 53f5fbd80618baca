from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
GRANULARITY_DAY: Granularity
GRANULARITY_HOUR: Granularity
GRANULARITY_MONTH: Granularity
GRANULARITY_UNSPECIFIED: Granularity

class GetIngestStatsRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class GetIngestStatsResponse(_message.Message):
    __slots__ = ["batch_count", "buffer_size", "duplicate_count", "error_count", "flushed_count", "last_flush_time", "recent_events_per_second", "rejected_count", "tracked_count"]
    BATCH_COUNT_FIELD_NUMBER: _ClassVar[int]
    BUFFER_SIZE_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_COUNT_FIELD_NUMBER: _ClassVar[int]
    ERROR_COUNT_FIELD_NUMBER: _ClassVar[int]
    FLUSHED_COUNT_FIELD_NUMBER: _ClassVar[int]
    LAST_FLUSH_TIME_FIELD_NUMBER: _ClassVar[int]
    RECENT_EVENTS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    REJECTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    TRACKED_COUNT_FIELD_NUMBER: _ClassVar[int]
    batch_count: int
    buffer_size: int
    duplicate_count: int
    error_count: int
    flushed_count: int
    last_flush_time: _timestamp_pb2.Timestamp
    recent_events_per_second: float
    rejected_count: int
    tracked_count: int
    def __init__(self, tracked_count: _Optional[int] = ..., flushed_count: _Optional[int] = ..., duplicate_count: _Optional[int] = ..., rejected_count: _Optional[int] = ..., error_count: _Optional[int] = ..., batch_count: _Optional[int] = ..., buffer_size: _Optional[int] = ..., last_flush_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., recent_events_per_second: _Optional[float] = ...) -> None: ...

class GetUsageRequest(_message.Message):
    __slots__ = ["end_time", "filter", "granularity", "group_by", "resource_type", "start_time", "tenant_id", "time_zone"]
    class FilterEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    GRANULARITY_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    end_time: _timestamp_pb2.Timestamp
    filter: _containers.ScalarMap[str, str]
    granularity: Granularity
    group_by: _containers.RepeatedScalarFieldContainer[str]
    resource_type: str
    start_time: _timestamp_pb2.Timestamp
    tenant_id: str
    time_zone: str
    def __init__(self, tenant_id: _Optional[str] = ..., resource_type: _Optional[str] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., granularity: _Optional[_Union[Granularity, str]] = ..., group_by: _Optional[_Iterable[str]] = ..., filter: _Optional[_Mapping[str, str]] = ..., time_zone: _Optional[str] = ...) -> None: ...

class GetUsageResponse(_message.Message):
    __slots__ = ["series", "totals"]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    series: _containers.RepeatedCompositeFieldContainer[UsageBucket]
    totals: _containers.RepeatedCompositeFieldContainer[UsageTotal]
    def __init__(self, totals: _Optional[_Iterable[_Union[UsageTotal, _Mapping]]] = ..., series: _Optional[_Iterable[_Union[UsageBucket, _Mapping]]] = ...) -> None: ...

class ListUsageEventsRequest(_message.Message):
    __slots__ = ["end_time", "filter", "include_voided", "page_size", "page_token", "resource_type", "start_time", "tenant_id"]
    class FilterEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_VOIDED_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    end_time: _timestamp_pb2.Timestamp
    filter: _containers.ScalarMap[str, str]
    include_voided: bool
    page_size: int
    page_token: str
    resource_type: str
    start_time: _timestamp_pb2.Timestamp
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., resource_type: _Optional[str] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., include_voided: bool = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ListUsageEventsResponse(_message.Message):
    __slots__ = ["events", "next_page_token"]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[StoredUsageEvent]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[StoredUsageEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RejectedEvent(_message.Message):
    __slots__ = ["event_id", "event_index", "reason", "reason_code"]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_INDEX_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    event_index: int
    reason: str
    reason_code: str
    def __init__(self, event_id: _Optional[str] = ..., event_index: _Optional[int] = ..., reason: _Optional[str] = ..., reason_code: _Optional[str] = ...) -> None: ...

class ReplaceUsageRequest(_message.Message):
    __slots__ = ["end_time", "events", "reason", "request_id", "resource_type", "start_time", "tenant_id"]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    end_time: _timestamp_pb2.Timestamp
    events: _containers.RepeatedCompositeFieldContainer[UsageEvent]
    reason: str
    request_id: str
    resource_type: str
    start_time: _timestamp_pb2.Timestamp
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., resource_type: _Optional[str] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., events: _Optional[_Iterable[_Union[UsageEvent, _Mapping]]] = ..., request_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ReplaceUsageResponse(_message.Message):
    __slots__ = ["accepted_count", "voided_count"]
    ACCEPTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    VOIDED_COUNT_FIELD_NUMBER: _ClassVar[int]
    accepted_count: int
    voided_count: int
    def __init__(self, voided_count: _Optional[int] = ..., accepted_count: _Optional[int] = ...) -> None: ...

class StoredUsageEvent(_message.Message):
    __slots__ = ["event", "period_start_time", "void_reason", "void_time", "voided", "voided_by"]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_TIME_FIELD_NUMBER: _ClassVar[int]
    VOIDED_BY_FIELD_NUMBER: _ClassVar[int]
    VOIDED_FIELD_NUMBER: _ClassVar[int]
    VOID_REASON_FIELD_NUMBER: _ClassVar[int]
    VOID_TIME_FIELD_NUMBER: _ClassVar[int]
    event: UsageEvent
    period_start_time: _timestamp_pb2.Timestamp
    void_reason: str
    void_time: _timestamp_pb2.Timestamp
    voided: bool
    voided_by: str
    def __init__(self, event: _Optional[_Union[UsageEvent, _Mapping]] = ..., period_start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., voided: bool = ..., void_reason: _Optional[str] = ..., void_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., voided_by: _Optional[str] = ...) -> None: ...

class StreamUsageRequest(_message.Message):
    __slots__ = ["events"]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[UsageEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[UsageEvent, _Mapping]]] = ...) -> None: ...

class StreamUsageResponse(_message.Message):
    __slots__ = ["accepted_count", "duplicate_count", "rejected_count", "rejected_events"]
    ACCEPTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_COUNT_FIELD_NUMBER: _ClassVar[int]
    REJECTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    REJECTED_EVENTS_FIELD_NUMBER: _ClassVar[int]
    accepted_count: int
    duplicate_count: int
    rejected_count: int
    rejected_events: _containers.RepeatedCompositeFieldContainer[RejectedEvent]
    def __init__(self, accepted_count: _Optional[int] = ..., duplicate_count: _Optional[int] = ..., rejected_count: _Optional[int] = ..., rejected_events: _Optional[_Iterable[_Union[RejectedEvent, _Mapping]]] = ...) -> None: ...

class TrackUsageRequest(_message.Message):
    __slots__ = ["events"]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[UsageEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[UsageEvent, _Mapping]]] = ...) -> None: ...

class TrackUsageResponse(_message.Message):
    __slots__ = ["accepted_count", "duplicate_count", "rejected_count", "rejected_events"]
    ACCEPTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_COUNT_FIELD_NUMBER: _ClassVar[int]
    REJECTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    REJECTED_EVENTS_FIELD_NUMBER: _ClassVar[int]
    accepted_count: int
    duplicate_count: int
    rejected_count: int
    rejected_events: _containers.RepeatedCompositeFieldContainer[RejectedEvent]
    def __init__(self, accepted_count: _Optional[int] = ..., duplicate_count: _Optional[int] = ..., rejected_count: _Optional[int] = ..., rejected_events: _Optional[_Iterable[_Union[RejectedEvent, _Mapping]]] = ...) -> None: ...

class UsageBucket(_message.Message):
    __slots__ = ["dimensions", "quantity", "resource_type", "start_time"]
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
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    dimensions: _containers.ScalarMap[str, str]
    quantity: str
    resource_type: str
    start_time: _timestamp_pb2.Timestamp
    def __init__(self, start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., resource_type: _Optional[str] = ..., quantity: _Optional[str] = ..., dimensions: _Optional[_Mapping[str, str]] = ...) -> None: ...

class UsageEvent(_message.Message):
    __slots__ = ["attributes", "event_id", "occur_time", "quantity", "resource_type", "tenant_id"]
    class AttributesEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCUR_TIME_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    attributes: _containers.ScalarMap[str, str]
    event_id: str
    occur_time: _timestamp_pb2.Timestamp
    quantity: str
    resource_type: str
    tenant_id: str
    def __init__(self, event_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., resource_type: _Optional[str] = ..., quantity: _Optional[str] = ..., occur_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...

class UsageTotal(_message.Message):
    __slots__ = ["dimensions", "quantity", "resource_type"]
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
    dimensions: _containers.ScalarMap[str, str]
    quantity: str
    resource_type: str
    def __init__(self, resource_type: _Optional[str] = ..., quantity: _Optional[str] = ..., dimensions: _Optional[_Mapping[str, str]] = ...) -> None: ...

class VoidUsageRequest(_message.Message):
    __slots__ = ["event_ids", "idempotency_keys", "reason", "request_id", "tenant_id"]
    EVENT_IDS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEYS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    event_ids: _containers.RepeatedScalarFieldContainer[str]
    idempotency_keys: _containers.RepeatedScalarFieldContainer[str]
    reason: str
    request_id: str
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., event_ids: _Optional[_Iterable[str]] = ..., idempotency_keys: _Optional[_Iterable[str]] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class VoidUsageResponse(_message.Message):
    __slots__ = ["already_voided_count", "not_found", "voided_count"]
    ALREADY_VOIDED_COUNT_FIELD_NUMBER: _ClassVar[int]
    NOT_FOUND_FIELD_NUMBER: _ClassVar[int]
    VOIDED_COUNT_FIELD_NUMBER: _ClassVar[int]
    already_voided_count: int
    not_found: _containers.RepeatedScalarFieldContainer[str]
    voided_count: int
    def __init__(self, voided_count: _Optional[int] = ..., already_voided_count: _Optional[int] = ..., not_found: _Optional[_Iterable[str]] = ...) -> None: ...

class Granularity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
