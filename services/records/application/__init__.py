"""The records application: use cases over event-sourced clients, practitioners and episodes."""
