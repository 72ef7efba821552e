"""Stage 8, adopt: the kit set up in another repository, in a folder of its own, with a
manifest of the services found there; and refreshed from a newer checkout."""
