"""Movie embeddings: providers (OpenAI-compatible, local), the text per movie, pgvector storage."""
