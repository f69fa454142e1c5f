"""SQL expressions of the measures that several analytics reports share, defined once.

Each is written against the aliases every report's query uses: ``oi`` for
``retail.order_items`` and ``p`` for ``retail.products``.
"""

from __future__ import annotations

#: Gross margin of order lines: revenue minus cost (``products.cost`` per unit sold).
GROSS_MARGIN = "oi.total_amount - p.cost * oi.quantity"
