"""One router per resource: contracts, evaluations, health."""
