"""kpi.core: see docs/architecture.md."""
