"""Records: their lifecycle rules, state and use cases."""
