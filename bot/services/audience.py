"""Who a plan item is for: the one audience rule, for handlers and use cases.

The rule itself lives in `scheduler.audience` so that the reminder engine (which may not import
`bot`) uses the very same function; this module re-exports it for the bot side.
"""

from __future__ import annotations

from scheduler.audience import LEADERSHIP, in_audience

__all__ = ["LEADERSHIP", "in_audience"]
