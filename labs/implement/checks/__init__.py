"""The checks that run inside the sandbox, on the learner's module: `common` holds the comparisons and
the finite-difference gradient check with its diagnoses; one module per lab holds its fixed inputs, its
per-function checks and its training run (see `labs.implement.tasks` for the stages)."""
