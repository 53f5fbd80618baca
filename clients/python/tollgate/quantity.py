"""Quantities: exact decimals in, decimal strings on the wire, never floats."""

from __future__ import annotations

from decimal import Decimal
from typing import Union

Quantity = Union[Decimal, int, str]
"""What a caller may pass as a quantity: a `Decimal`, an `int`, or a decimal string."""


def to_wire(quantity: Quantity) -> str:
    """The wire form of a quantity. Floats are refused: 0.1 is not a tenth in binary."""
    if isinstance(quantity, bool) or not isinstance(quantity, (Decimal, int, str)):
        raise TypeError(
            f"quantity must be a Decimal, an int or a decimal string, not {type(quantity).__name__}"
        )
    value = Decimal(quantity) if not isinstance(quantity, Decimal) else quantity
    if not value.is_finite():
        raise ValueError(f"quantity must be a finite number, not {quantity!r}")
    # Plain notation: the server reads decimal strings such as "1500" or "10.5", not "1.5E+3".
    return format(value, "f")


def from_wire(value: str) -> Decimal | None:
    """A decimal string from the server; None for an empty one (no limit)."""
    return Decimal(value) if value != "" else None
