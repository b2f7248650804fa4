"""Human-readable counts and byte sizes, shared by the command line and (Qt-free) by the panels."""
from __future__ import annotations

# Counts (parameters, MACs) use decimal prefixes; byte sizes use powers of 1024, so they are
# labelled KiB/MiB/GiB — a "MB" that divides by 1024 would be wrong by 5%.
_COUNT_SCALES = (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3))
_BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def count(value: float | int | None, missing: str = "—") -> str:
    """1234567 -> '1.23 M'; 950 -> '950'; None -> `missing`."""
    if value is None:
        return missing
    number = float(value)
    for suffix, scale in _COUNT_SCALES:
        if abs(number) >= scale:
            return f"{number / scale:.3g} {suffix}"
    return f"{number:.0f}" if number == int(number) else f"{number:.3g}"


def size(num_bytes: float | int | None, missing: str = "—") -> str:
    """1536 -> '1.5 KiB'; 512 -> '512 B'; None -> `missing`."""
    if num_bytes is None:
        return missing
    number = float(num_bytes)
    for unit in _BYTE_UNITS:
        if abs(number) < 1024 or unit == _BYTE_UNITS[-1]:
            return f"{number:.0f} {unit}" if unit == "B" else f"{number:.1f} {unit}"
        number /= 1024
    raise AssertionError("unreachable: the last unit always returns")
