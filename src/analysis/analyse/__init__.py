"""The ``analyse`` stage: what each year's report may see (vintages), the outcome indicators and the models of change, with their validation study."""
