"""The order lines every sales report reads, and the measures summed over them.

Defined once so that each report counts revenue, units, orders and gross margin the
same way. The aliases are those of :data:`ORDER_LINES`: ``oi`` for the order lines,
``o`` for their orders and ``p`` for their products.
"""

from __future__ import annotations

#: Gross margin of order lines: revenue minus cost (``products.cost`` per unit sold).
GROSS_MARGIN = "oi.total_amount - p.cost * oi.quantity"

#: FROM clause: order lines with their order (for the date) and product.
ORDER_LINES = """retail.order_items oi
  JOIN retail.orders o ON o.order_id = oi.order_id
  JOIN retail.products p ON p.product_id = oi.product_id"""

#: SELECT list: the four totals of a group of order lines.
SALES_TOTALS = f"""COUNT(DISTINCT oi.order_id) AS orders,
       SUM(oi.quantity) AS units,
       SUM(oi.total_amount) AS revenue,
       SUM({GROSS_MARGIN}) AS gross_margin"""
