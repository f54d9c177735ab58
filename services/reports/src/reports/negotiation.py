"""Content negotiation for report results: JSON (the default) or CSV, by `Accept`."""

from __future__ import annotations

from typing import Final, Literal

Format = Literal["json", "csv"]
_OFFERED: Final[tuple[tuple[str, Format], ...]] = (
    ("application/json", "json"),
    ("text/csv", "csv"),
)


def _ranges(accept: str) -> list[tuple[str, float]]:
    ranges = []
    for part in accept.split(",")[:32]:
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media:
            ranges.append((media.lower(), quality))
    return ranges


def _quality(media: str, ranges: list[tuple[str, float]]) -> float:
    """The quality of the most specific range matching `media` (RFC 9110, 12.5.1)."""
    kind = media.split("/", maxsplit=1)[0]
    for candidate in (media, f"{kind}/*", "*/*"):
        for media_range, quality in ranges:
            if media_range == candidate:
                return quality
    return 0.0


def negotiate(accept: str | None) -> Format | None:
    """The best format for `accept`; JSON when absent; None when neither is acceptable."""
    if not accept or not accept.strip():
        return "json"
    ranges = _ranges(accept)
    best: tuple[float, Format] | None = None
    for media, fmt in _OFFERED:
        quality = _quality(media, ranges)
        if quality > 0 and (best is None or quality > best[0]):
            best = (quality, fmt)
    return None if best is None else best[1]
