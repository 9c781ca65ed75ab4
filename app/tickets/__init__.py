"""The tickets feature: reads, actions, forms and routes."""
