"""Domain rules of the workforce IdP on a Session: they flush, raise domain errors, never commit."""
