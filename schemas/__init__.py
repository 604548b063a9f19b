"""Public event and output contracts of Churnwatch (versioned, see ``schemas.version``)."""
