"""kpi.pipeline: see docs/architecture.md."""
