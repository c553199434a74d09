"""The ``runner``: executing the pipeline's notebooks with papermill, the helpers notebooks share, and the command line."""
