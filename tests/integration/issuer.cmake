# Issuer integration tests (named + plugin + Pebble).
