"""Use cases of the consent service; it depends on the domain and on ports, never on adapters."""
