"""Functional mode's data: random operands, their DDR layout for a design, the output read back,
and the numpy answer to compare it with."""
