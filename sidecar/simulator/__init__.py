"""Faithful stand-ins for outside services (media servers, OpenAI) used by tests, benchmarks and the demo."""
