from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
PRICING_MODEL_GRADUATED: PricingModel
PRICING_MODEL_PACKAGE: PricingModel
PRICING_MODEL_PER_UNIT: PricingModel
PRICING_MODEL_UNSPECIFIED: PricingModel
PRICING_MODEL_VOLUME: PricingModel
RESOURCE_KIND_ALLOCATION: ResourceKind
RESOURCE_KIND_CONSUMABLE: ResourceKind
RESOURCE_KIND_UNSPECIFIED: ResourceKind

class PriceTier(_message.Message):
    __slots__ = ["flat_amount", "unit_amount", "up_to"]
    FLAT_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    UNIT_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    UP_TO_FIELD_NUMBER: _ClassVar[int]
    flat_amount: str
    unit_amount: str
    up_to: str
    def __init__(self, up_to: _Optional[str] = ..., unit_amount: _Optional[str] = ..., flat_amount: _Optional[str] = ...) -> None: ...

class Pricing(_message.Message):
    __slots__ = ["model", "package_amount", "package_size", "round", "tiers", "tiers_from", "unit_amount"]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    ROUND_FIELD_NUMBER: _ClassVar[int]
    TIERS_FIELD_NUMBER: _ClassVar[int]
    TIERS_FROM_FIELD_NUMBER: _ClassVar[int]
    UNIT_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    model: PricingModel
    package_amount: str
    package_size: str
    round: str
    tiers: _containers.RepeatedCompositeFieldContainer[PriceTier]
    tiers_from: str
    unit_amount: str
    def __init__(self, model: _Optional[_Union[PricingModel, str]] = ..., unit_amount: _Optional[str] = ..., tiers: _Optional[_Iterable[_Union[PriceTier, _Mapping]]] = ..., tiers_from: _Optional[str] = ..., package_size: _Optional[str] = ..., package_amount: _Optional[str] = ..., round: _Optional[str] = ...) -> None: ...

class ResourceKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class PricingModel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
