"""The movie pipeline: one module per job. A second media type is a sibling package."""
