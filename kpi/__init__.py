"""kpi: monthly performance scoring and payroll for e-commerce customer service.

The package is a pure core (rules, tiers, measures, scoring, pay) surrounded by
edges that read sheets and write files. The core never imports an I/O library.
"""

__version__ = "0.1.0"
