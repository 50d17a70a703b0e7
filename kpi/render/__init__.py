"""kpi.render: the pipeline's records in words for the terminal (the web renders them with its templates)."""
