"""Stage 2 of the frontend: the mapper. For a layer and a config, the design options (tile
sizes, placement, buffering, reuse, layouts), their analytical estimate, and the search that
picks one; ``explain`` says why."""
