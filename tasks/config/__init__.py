"""Stage 1, config: the service manifest (its model, its loader and validation), the kit's
file names, and the project's own tool settings as its files declare them."""
