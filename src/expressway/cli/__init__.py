"""``expressway …``: commands parse arguments and call services, nothing more."""
