"""The vocabulary of pbr-rules as frozen pydantic models: contracts, histories, results."""
