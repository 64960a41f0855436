"""The validation of npusim against published measurements: the table (cases.yaml), its schema (table.py) and the script (run.py)."""
