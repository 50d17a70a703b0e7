"""kpi.io: see docs/architecture.md."""
