"""kpi.ledger.db: see docs/architecture.md."""
