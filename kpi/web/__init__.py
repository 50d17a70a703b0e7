"""The web workspace (``kpi serve``): the month in a browser, over the same ledger and core."""

from kpi.web.app import create_app

__all__ = ["create_app"]
