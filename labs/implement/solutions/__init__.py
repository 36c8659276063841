"""Reference solutions, one module per implementable lab. The scaffolds are generated from these files
(signatures and docstrings kept, bodies replaced), so the two can never drift apart."""
