"""Stage 3 of the frontend: the program builder. A chosen design becomes a Program: per-tile
core instructions, BD chains, routes and the runtime sequence."""
