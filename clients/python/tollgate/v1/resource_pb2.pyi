from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor
RESOURCE_KIND_ALLOCATION: ResourceKind
RESOURCE_KIND_CONSUMABLE: ResourceKind
RESOURCE_KIND_UNSPECIFIED: ResourceKind

class ResourceKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
